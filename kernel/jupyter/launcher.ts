// Kernel process entry: preload the runtime, bind the sockets, serve until shutdown.
import * as path from "node:path";
import { Channels, readConnectionFile } from "./channels";
import { CellExecutor } from "./executor";
import { History } from "./history";
import { userDataDir } from "./install";
import { Kernel } from "./kernel";
import { guardProcessExit } from "./process-exit";
import { PACKAGE_ROOT } from "./resolve";

/** Loads the runtime onto the typed global `rwkv`; a failure is reported on first use, not fatal. */
function preloadRuntime(): void {
  const g = globalThis as { rwkv?: unknown };
  try {
    g.rwkv = require(path.join(PACKAGE_ROOT, "dist", "kernel", "index.js"));
  } catch (e) {
    const reason = (e as Error).message;
    process.stderr.write(`rwkv-ts: runtime failed to load: ${reason}\n`);
    g.rwkv = new Proxy(
      {},
      {
        get() {
          throw new Error(`the rwkv-notebook runtime failed to load: ${reason}`);
        },
      },
    );
  }
}

export async function startKernel(connectionFile: string): Promise<void> {
  const info = readConnectionFile(connectionFile);
  preloadRuntime();
  const executor = new CellExecutor(process.cwd());
  const channels = new Channels(info);
  const exit = guardProcessExit();
  const history = new History(path.join(userDataDir(), "rwkv-ts"));
  const kernel = new Kernel(channels, executor, { onExit: (code) => setImmediate(() => exit(code)), history });

  // Signal-mode interrupt: a synchronous cell is broken by vm's own SIGINT watchdog; otherwise
  // this listener runs (and its presence keeps SIGINT from killing the process).
  process.on("SIGINT", () => kernel.interrupt());
  process.on("SIGTERM", () => kernel.shutdown());
  // A bad cell must never take the kernel down: late errors go to the cell that started the work.
  process.on("uncaughtException", (e) => process.stderr.write(`Uncaught ${(e as Error).stack ?? String(e)}\n`));
  process.on("unhandledRejection", (r) =>
    process.stderr.write(`Unhandled promise rejection: ${(r as Error)?.stack ?? String(r)}\n`),
  );

  await channels.bind(kernel.handle);
  await channels.publish({}, "status", { execution_state: "starting" });
}
