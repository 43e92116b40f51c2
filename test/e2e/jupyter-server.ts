// Starts `jupyter server` or `jupyter notebook` on 127.0.0.1 with a token in a temp environment.
import { ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import { JupyterEnv, jupyterEnv } from "./jupyter-env";

export interface RunningServer {
  url: string;
  token: string;
  env: JupyterEnv;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export async function startServer(app: "server" | "notebook"): Promise<RunningServer> {
  const env = jupyterEnv();
  const port = await freePort();
  const token = `t${Math.random().toString(36).slice(2)}`;
  const cls = app === "server" ? "ServerApp" : "NotebookApp";
  const dirFlag = app === "server" ? "--ServerApp.root_dir" : "--NotebookApp.notebook_dir";
  const proc = spawn(
    "jupyter",
    [
      app,
      `--${cls}.ip=127.0.0.1`,
      `--${cls}.port=${port}`,
      `--${cls}.token=${token}`,
      `--${cls}.open_browser=False`,
      "--allow-root",
      `${dirFlag}=${env.workDir}`,
    ],
    { cwd: env.workDir, env: env.env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let log = "";
  proc.stdout?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  proc.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null) {
      try {
        process.kill(-proc.pid!, "SIGTERM");
      } catch {
        /* gone */
      }
      await Promise.race([new Promise((r) => proc.once("exit", r)), new Promise((r) => setTimeout(r, 5000))]);
      try {
        process.kill(-proc.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    env.cleanup();
  };
  for (let i = 0; i < 150; i++) {
    try {
      const r = await fetch(`${url}/api/status?token=${token}`);
      if (r.ok) return { url, token, env, proc, stop };
    } catch {
      /* not up yet */
    }
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`jupyter ${app} did not start:\n${log}`);
}
