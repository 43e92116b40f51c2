// A throwaway Jupyter environment for e2e tests: temp JUPYTER_* dirs with the rwkv-ts kernelspec
// installed under a temp prefix, plus checks for the external tools the tests need.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installKernelspec } from "../../kernel/jupyter/install";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const FIXTURES = path.join(ROOT, "test", "e2e", "fixtures");

export interface JupyterEnv {
  dir: string;
  workDir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/** Why a test needing `jupyter <sub>` cannot run here, or undefined when it can. */
export function missingJupyter(sub: string): string | undefined {
  const r = spawnSync("jupyter", [sub, "--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0)
    return `jupyter ${sub} is not installed (apt: jupyter-${sub === "notebook" ? "notebook" : sub})`;
  return undefined;
}

export function jupyterEnv(): JupyterEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-jupyter-"));
  const prefix = path.join(dir, "prefix");
  installKernelspec({ kind: "prefix", prefix });
  const workDir = path.join(dir, "work");
  fs.mkdirSync(workDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: path.join(prefix, "share", "jupyter"),
    JUPYTER_DATA_DIR: path.join(dir, "data"),
    JUPYTER_RUNTIME_DIR: path.join(dir, "runtime"),
    JUPYTER_CONFIG_DIR: path.join(dir, "config"),
    IPYTHONDIR: path.join(dir, "ipython"),
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    JUPYTER_PLATFORM_DIRS: "0",
  };
  return { dir, workDir, env, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: NotebookOutput[];
}
export interface NotebookOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  execution_count?: number | null;
}

export function readNotebook(file: string): { cells: NotebookCell[] } {
  return JSON.parse(fs.readFileSync(file, "utf8")) as { cells: NotebookCell[] };
}

export function joined(t: string | string[] | undefined): string {
  return Array.isArray(t) ? t.join("") : (t ?? "");
}
