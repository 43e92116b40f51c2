// Loads the native addon once and types its surface. RWKV_NATIVE points at another build
// (each developer or CI job may build into its own folder).
import * as path from "node:path";
import * as fs from "node:fs";

export interface CudaDevice { index: number; name: string; totalMemory: number; computeCapability: string }
export interface NativeInfo {
  simd: string;
  threads: number;
  cuda: { compiled: boolean; available: boolean; devices: CudaDevice[]; reason?: string; runtimeVersion?: number };
}

/** The addon's exports. Binding files add members; each is declared here with its types. */
export interface NativeAddon {
  info(): NativeInfo;
  setThreads(n: number): number;
  [name: string]: unknown;
}

let cached: NativeAddon | undefined;

export function nativeAddonPath(): string {
  if (process.env.RWKV_NATIVE) return path.resolve(process.env.RWKV_NATIVE);
  // dist/kernel/runtime/native.js → package root is three levels up
  const root = path.resolve(__dirname, "..", "..", "..");
  return path.join(root, "native", "build", "rwkv_native.node");
}

export function native(): NativeAddon {
  if (cached) return cached;
  const file = nativeAddonPath();
  if (!fs.existsSync(file)) {
    throw new Error(`rwkv-notebook: the native runtime is not built (${file} is missing). Run \`npm run build\` (needs cmake and g++).`);
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  cached = require(file) as NativeAddon;
  return cached;
}
