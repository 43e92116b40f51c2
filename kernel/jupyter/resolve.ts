// Makes `import ... from "rwkv-notebook"` resolve to this package from any notebook directory,
// both for tslab's type checker (a virtual <cwd>/node_modules/rwkv-notebook) and for require().
import * as path from "node:path";
import Module = require("node:module");

export const PACKAGE_NAME = "rwkv-notebook";
/** dist/kernel/jupyter/resolve.js → package root. */
export const PACKAGE_ROOT = path.resolve(__dirname, "..", "..", "..");

interface TsSys {
  fileExists(p: string): boolean;
  directoryExists(p: string): boolean;
  readFile(p: string, enc?: string): string | undefined;
  realpath?(p: string): string;
}

/** Maps any `.../node_modules/rwkv-notebook/<rest>` to `<package root>/<rest>`. */
function forward(p: string): string {
  const marker = `/node_modules/${PACKAGE_NAME}`;
  const i = p.lastIndexOf(marker);
  if (i < 0) return p;
  const rest = p.slice(i + marker.length);
  if (rest !== "" && !rest.startsWith("/")) return p;
  return path.join(PACKAGE_ROOT, rest);
}

type TypeScript = typeof import("@tslab/typescript-for-tslab");
let typescript: TypeScript | undefined;

/** The TypeScript that tslab checks and emits cells with (a patched 5.0), for syntax questions. */
export function tslabTypeScript(): TypeScript {
  const tslabDir = path.dirname(require.resolve("tslab/package.json"));
  return (typescript ??= require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] })) as TypeScript);
}

let installed = false;

/** Patches tslab's TypeScript `sys` (shared by its converters) and Node's resolver. Idempotent. */
export function installPackageResolution(): void {
  if (installed) return;
  installed = true;
  const sys = (tslabTypeScript() as unknown as { sys: TsSys }).sys;
  const { fileExists, directoryExists, readFile, realpath } = sys;
  sys.fileExists = (p) => fileExists.call(sys, forward(p));
  sys.directoryExists = (p) => directoryExists.call(sys, forward(p));
  sys.readFile = (p, enc) => readFile.call(sys, forward(p), enc);
  if (realpath) sys.realpath = (p) => realpath.call(sys, forward(p));

  const M = Module as unknown as { _resolveFilename(req: string, parent: unknown, ...rest: unknown[]): string };
  const resolve = M._resolveFilename;
  M._resolveFilename = function (request: string, parent: unknown, ...rest: unknown[]): string {
    if (request === PACKAGE_NAME || request.startsWith(`${PACKAGE_NAME}/`)) {
      request = path.join(PACKAGE_ROOT, request.slice(PACKAGE_NAME.length)) || PACKAGE_ROOT;
    }
    return resolve.call(this, request, parent, ...rest);
  };
}
