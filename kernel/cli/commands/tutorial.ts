// `rwkv-nb tutorial`: the main job. Copies the tutorial notebooks into a working folder (Notebook
// autosaves, so the package's copies stay clean), installs the rwkv-ts kernelspec, then either opens
// them in Jupyter Notebook or, with --execute, runs them all headless and writes executed copies
// and HTML exports.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { Command } from "../main";
import { installKernelspec, KERNEL_NAME } from "../../jupyter/install";
import { PACKAGE_ROOT } from "../../jupyter/resolve";
import { inlinePlotly } from "../../display/plotly";
import { writeFileAtomic } from "../../runtime/files";

const usage = `usage: rwkv-nb tutorial [--dir <folder>] [--execute] [--port <n>] [--timeout <seconds>]

Copies the tutorial notebooks into <folder> (default ./rwkv-tutorial; existing copies are kept),
installs the ${KERNEL_NAME} Jupyter kernel for this user, and serves them with Jupyter Notebook until
Ctrl-C (it prints the URL with its token; without a display, open that URL in a browser yourself).
--execute runs every notebook headless instead and writes <folder>/executed/*.ipynb and *.html.
The notebooks use RWKV_MODEL (and RWKV_VOCAB) when set, else the small model the project ships.
Jupyter comes from Debian's packages: apt-get install jupyter-notebook jupyter-nbconvert jupyter-client`;

const JUPYTER_PACKAGES = [
  "jupyter-notebook",
  "jupyter-nbconvert",
  "jupyter-client",
  "python3-nbclient",
  "python3-ipykernel",
];

function hasJupyter(sub: string): boolean {
  const r = spawnSync("jupyter", [sub, "--version"], { stdio: "ignore" });
  return r.status === 0;
}

/** Installs Jupyter with apt-get when we may (root on Debian/Ubuntu); else says how. */
function ensureJupyter(sub: string): void {
  if (hasJupyter(sub)) return;
  const canApt = process.getuid?.() === 0 && fs.existsSync("/usr/bin/apt-get");
  if (!canApt)
    throw new Error(
      `'jupyter ${sub}' is not installed. On Debian/Ubuntu: sudo apt-get install ${JUPYTER_PACKAGES.join(" ")}`,
    );
  console.error(`rwkv-nb: installing Jupyter from apt (${JUPYTER_PACKAGES.join(" ")}) ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  const r = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...JUPYTER_PACKAGES], {
    stdio: "inherit",
    env,
  });
  if (r.status !== 0 || !hasJupyter(sub)) throw new Error(`could not install Jupyter with apt-get (exit ${r.status})`);
}

export function tutorialNotebooks(): string[] {
  const dir = path.join(PACKAGE_ROOT, "notebooks");
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb"))
    .sort()
    .map((f) => path.join(dir, f));
}

function copyNotebooks(dest: string): string[] {
  fs.mkdirSync(dest, { recursive: true });
  return tutorialNotebooks().map((src) => {
    const to = path.join(dest, path.basename(src));
    if (!fs.existsSync(to)) fs.copyFileSync(src, to);
    return to;
  });
}

function execute(notebooks: string[], outDir: string, timeoutS: number): number {
  fs.mkdirSync(outDir, { recursive: true });
  let failed = 0;
  for (const nb of notebooks) {
    const name = path.basename(nb, ".ipynb");
    console.log(`rwkv-nb: running ${name} ...`);
    const t0 = Date.now();
    const run = spawnSync(
      "jupyter",
      [
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        `--ExecutePreprocessor.timeout=${timeoutS}`,
        `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`,
        "--output-dir",
        outDir,
        "--output",
        name,
        nb,
      ],
      {
        stdio: ["ignore", "inherit", "inherit"],
        cwd: path.dirname(nb),
        env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" },
      },
    );
    if (run.status !== 0) {
      failed++;
      console.error(`rwkv-nb: ${name} failed (exit ${run.status})`);
      continue;
    }
    const executed = path.join(outDir, `${name}.ipynb`);
    spawnSync("jupyter", ["nbconvert", "--to", "html", "--output-dir", outDir, executed], { stdio: "ignore" });
    // The export carries plotly.js once, so its figures stay interactive offline and elsewhere.
    const html = path.join(outDir, `${name}.html`);
    if (fs.existsSync(html)) {
      const text = inlinePlotly(fs.readFileSync(html, "utf8"));
      writeFileAtomic(html, (fd) => fs.writeFileSync(fd, text));
    }
    console.log(`rwkv-nb: ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s → ${executed}`);
  }
  return failed === 0 ? 0 : 1;
}

/** Whether Jupyter can open a browser here; otherwise the user opens the URL it prints. */
const hasDisplay = (): boolean =>
  process.platform !== "linux" || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);

/**
 * Serves the notebooks with Jupyter Notebook until Ctrl-C (SIGINT), SIGTERM or SIGHUP, then stops it.
 * Jupyter runs in its own session with no stdin, so a terminal's Ctrl-C reaches only us and we stop
 * it once with SIGTERM (it shuts its kernels down); with a terminal on stdin it would instead ask
 * "Shutdown this notebook server (y/[n])?" and keep running.
 */
function serve(dest: string, port: string): Promise<number> {
  const child = spawn(
    "jupyter",
    [
      "notebook",
      `--notebook-dir=${dest}`,
      `--NotebookApp.port=${port}`,
      "--NotebookApp.ip=127.0.0.1",
      ...(hasDisplay() ? [] : ["--no-browser"]),
      ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
    ],
    { stdio: ["ignore", "inherit", "inherit"], detached: true },
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log("rwkv-nb: stopping Jupyter Notebook ...");
    child.kill("SIGTERM");
  };
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const sig of signals) process.on(sig, stop);
  const orphan = (): void => void child.kill("SIGTERM"); // we exit first (an uncaught error): do not leave it running
  process.on("exit", orphan);
  console.log(
    `rwkv-nb: Jupyter Notebook is starting; ` +
      `${hasDisplay() ? "a browser opens, or " : ""}open the URL it prints (with its token). Ctrl-C stops it.`,
  );
  return new Promise<number>((resolve, reject) => {
    const done = (): void => {
      for (const sig of signals) process.off(sig, stop);
      process.off("exit", orphan);
    };
    child.on("error", (e) => {
      done();
      reject(new Error(`cannot start jupyter notebook: ${e.message}`));
    });
    child.on("exit", (code, signal) => {
      done();
      if (stopping) console.log("rwkv-nb: Jupyter Notebook stopped.");
      resolve(stopping ? 0 : (code ?? (signal ? 1 : 0)));
    });
  });
}

export const command: Command = {
  name: "tutorial",
  summary: "open the state-tuning tutorial notebooks (or run them all with --execute)",
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        dir: { type: "string" },
        execute: { type: "boolean" },
        port: { type: "string" },
        timeout: { type: "string" },
      },
    });
    const dest = path.resolve(values.dir ?? "rwkv-tutorial");
    const timeoutS = Number(values.timeout ?? 1800);
    if (!(timeoutS > 0)) throw new Error(`--timeout must be a positive number of seconds, not ${values.timeout}`);
    ensureJupyter(values.execute ? "nbconvert" : "notebook");
    const spec = installKernelspec({ kind: "user" });
    console.log(`rwkv-nb: kernel ${KERNEL_NAME} installed in ${spec}`);
    const notebooks = copyNotebooks(dest);
    console.log(`rwkv-nb: ${notebooks.length} notebooks in ${dest}`);
    if (values.execute) return execute(notebooks, path.join(dest, "executed"), timeoutS);
    return serve(dest, values.port ?? "8888");
  },
};
