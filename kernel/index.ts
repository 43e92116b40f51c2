// The public API of rwkv-notebook: one runtime under the notebook kernel, the CLI and plain use.
export { native, nativeAddonPath } from "./runtime/native";
export type { NativeInfo, CudaDevice } from "./runtime/native";
export * from "./runtime/tokenizer";
export * from "./runtime/data";
