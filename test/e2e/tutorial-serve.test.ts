// `rwkv-nb tutorial` without --execute, on a machine without a display: it prints Jupyter's URL with
// its token and serves the tutorial notebooks there with the rwkv-ts kernel until Ctrl-C (SIGINT);
// then it stops Jupyter and the kernels it started, and exits 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tutorialNotebooks } from "../../kernel/cli/commands/tutorial";
import { ROOT, jupyterEnv, missingJupyter } from "./jupyter-env";
import { freePort } from "./jupyter-server";

/** Pids of the processes whose argv contains `part`. */
function pidsWith(part: string): number[] {
  return fs
    .readdirSync("/proc")
    .filter((pid) => {
      try {
        return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(part);
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}
/** The kernel processes Jupyter started for kernel `id` (their argv names its connection file). */
const kernelPids = (id: string): number[] => pidsWith(`kernel-${id}.json`);

async function until<T>(what: string, get: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    const v = await get();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

test(
  "rwkv-nb tutorial prints the URL with its token, serves the notebooks there, and stops cleanly on SIGINT",
  {
    skip: missingJupyter("notebook") ?? (process.platform === "linux" ? false : "reads /proc"),
    timeout: 120_000,
  },
  async () => {
    const jenv = jupyterEnv();
    const home = path.join(jenv.dir, "home");
    fs.mkdirSync(home);
    const env: NodeJS.ProcessEnv = { ...jenv.env, HOME: home };
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    const port = await freePort();
    const dir = path.join(jenv.dir, "tutorial");
    const cli = spawn(
      process.execPath,
      [path.join(ROOT, "bin", "rwkv-nb.js"), "tutorial", "--dir", dir, "--port", String(port)],
      { cwd: jenv.workDir, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let log = "";
    cli.stdout.on("data", (d: Buffer) => (log += d.toString()));
    cli.stderr.on("data", (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.on("exit", (code) => resolve(code)));
    try {
      const m = await until(
        "the URL in the output",
        () => /http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]+)/.exec(log) ?? undefined,
        60_000,
      ).catch((e: Error) => assert.fail(`${e.message}; output:\n${log}`));
      assert.equal(Number(m[1]), port);
      const base = `http://127.0.0.1:${port}`,
        token = m[2];
      const api = async <T>(p: string, init?: RequestInit): Promise<T> => {
        const r = await fetch(`${base}/api/${p}?token=${token}`, init);
        assert.ok(r.ok, `${p}: HTTP ${r.status}`);
        return (await r.json()) as T;
      };

      const page = await fetch(m[0]); // follows the redirect to the notebook list
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>Home Page - Select or create a notebook<\/title>/);
      const listed = (await api<{ content: { name: string }[] }>("contents")).content
        .map((c: { name: string }) => c.name)
        .sort();
      assert.deepEqual(
        listed,
        tutorialNotebooks().map((f) => path.basename(f)),
      );
      assert.ok(
        (await api<{ kernelspecs: Record<string, unknown> }>("kernelspecs")).kernelspecs["rwkv-ts"],
        "the tutorial installed the rwkv-ts kernel",
      );
      const kernel = await api<{ id: string }>("kernels", {
        method: "POST",
        body: JSON.stringify({ name: "rwkv-ts" }),
      });
      await until("the kernel process", () => (kernelPids(kernel.id).length ? true : undefined), 30_000);

      cli.kill("SIGINT");
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 30_000, "no exit in 30 s")))]);
      clearTimeout(timer);
      assert.equal(code, 0, log);
      assert.match(log, /Shutting down 1 kernel/);
      await assert.rejects(fetch(`${base}/api/status`), "Jupyter no longer listens");
      assert.deepEqual(kernelPids(kernel.id), [], "the kernel was stopped with Jupyter");
    } finally {
      if (cli.exitCode === null && cli.signalCode === null) {
        cli.kill("SIGTERM"); // it stops Jupyter, which runs in its own session
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      }
      for (const pid of pidsWith(`--notebook-dir=${dir}`)) process.kill(pid, "SIGTERM"); // after a failure only
      jenv.cleanup();
    }
  },
);
