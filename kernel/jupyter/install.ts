// Writes/removes the `rwkv-ts` kernelspec with absolute paths (node binary and our CLI), so it
// runs without PATH, pyenv or npx. The kernelspec also carries plotly.js: Jupyter serves a
// kernelspec's files at <base>/kernelspecs/rwkv-ts/<file>, where every figure's script loads it.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PACKAGE_ROOT } from "./resolve";
import { PLOTLY_RESOURCE, plotlyLibraryFile } from "../display/plotly";

export const KERNEL_NAME = "rwkv-ts";

export type KernelspecTarget = { kind: "user" } | { kind: "sys-prefix" } | { kind: "prefix"; prefix: string };

/** Jupyter's per-user data dir (`jupyter --data-dir`), as jupyter_core computes it on Linux/macOS/Windows. */
export function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return path.resolve(process.env.JUPYTER_DATA_DIR);
  if (process.platform === "darwin") return path.join(os.homedir(), "Library", "Jupyter");
  if (process.platform === "win32") return path.join(process.env.APPDATA ?? os.homedir(), "jupyter");
  const xdg = process.env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share");
  return path.join(xdg, "jupyter");
}

function pythonSysPrefix(): string {
  const python = process.env.PYTHON || (fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
  try {
    return execFileSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" }).trim();
  } catch (e) {
    throw new Error(`--sys-prefix needs Python (${python}): ${(e as Error).message}`, { cause: e });
  }
}

export function kernelspecDir(t: KernelspecTarget): string {
  const base =
    t.kind === "user"
      ? userDataDir()
      : t.kind === "sys-prefix"
        ? path.join(pythonSysPrefix(), "share", "jupyter")
        : path.join(path.resolve(t.prefix), "share", "jupyter");
  return path.join(base, "kernels", KERNEL_NAME);
}

export function kernelJson(displayName = "RWKV (TypeScript)"): object {
  return {
    argv: [
      process.execPath,
      path.join(PACKAGE_ROOT, "bin", "rwkv-nb.js"),
      "kernel",
      "start",
      "--connection-file",
      "{connection_file}",
    ],
    display_name: displayName,
    language: "typescript",
    interrupt_mode: "signal",
    metadata: { debugger: false },
  };
}

/** Installs (or replaces) the kernelspec; returns its directory. */
export function installKernelspec(t: KernelspecTarget, displayName?: string): string {
  const dir = kernelspecDir(t);
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    fs.writeFileSync(path.join(tmp, "kernel.json"), JSON.stringify(kernelJson(displayName), null, 2) + "\n");
    for (const logo of ["logo-32x32.png", "logo-64x64.png", "logo-svg.svg"]) {
      fs.copyFileSync(path.join(PACKAGE_ROOT, "assets", logo), path.join(tmp, logo));
    }
    fs.copyFileSync(plotlyLibraryFile(), path.join(tmp, PLOTLY_RESOURCE));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`cannot install kernelspec into ${dir}: ${(e as Error).message}`, { cause: e });
  }
  return dir;
}

/** Removes the kernelspec; returns the removed directory, or undefined when none was there. */
export function uninstallKernelspec(t: KernelspecTarget): string | undefined {
  const dir = kernelspecDir(t);
  if (!fs.existsSync(path.join(dir, "kernel.json"))) return undefined;
  fs.rmSync(dir, { recursive: true, force: true });
  return dir;
}
