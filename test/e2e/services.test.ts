// @jupyterlab/services + ws against a real `jupyter server`: session lifecycle on rwkv-ts.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import WebSocket from "ws";
import { KernelManager, KernelMessage, ServerConnection, SessionManager } from "@jupyterlab/services";
import { missingJupyter } from "./jupyter-env";
import { startServer } from "./jupyter-server";

const skip = missingJupyter("server");

test("jupyter server session: execute, iopub, interrupt, restart, shutdown", { skip, timeout: 120_000 }, async () => {
  const server = await startServer("server");
  const settings = ServerConnection.makeSettings({
    baseUrl: server.url,
    wsUrl: server.url.replace("http", "ws"),
    token: server.token,
    appendToken: true,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const kernelManager = new KernelManager({ serverSettings: settings });
  const sessions = new SessionManager({ kernelManager, serverSettings: settings });
  try {
    const session = await sessions.startNew({
      path: "s.ipynb",
      type: "notebook",
      name: "s.ipynb",
      kernel: { name: "rwkv-ts" },
    });
    const kernel = session.kernel!;
    assert.equal(kernel.name, "rwkv-ts");
    const info = await kernel.info;
    assert.equal(info.language_info.name, "typescript");

    const seen: string[] = [];
    const future = kernel.requestExecute({ code: 'console.log("over ws"); 6 * 7' });
    future.onIOPub = (m) => {
      if (KernelMessage.isStreamMsg(m)) seen.push(`stream:${m.content.text}`);
      if (KernelMessage.isExecuteResultMsg(m)) seen.push(`result:${String(m.content.data["text/plain"])}`);
    };
    const reply = await future.done;
    assert.equal(reply.content.status, "ok");
    assert.deepEqual(seen, ["stream:over ws\n", "result:42"]);

    await kernel.requestExecute({ code: "let survived = 1;" }).done;
    const long = kernel.requestExecute({ code: "while (true) {}" });
    await new Promise((r) => setTimeout(r, 1500));
    await kernel.interrupt();
    const interrupted = await long.done;
    assert.equal(interrupted.content.status, "error");
    const after = await kernel.requestExecute({ code: "survived + 1" }).done;
    assert.equal(after.content.status, "ok");

    await kernel.restart();
    const fresh = kernel.requestExecute({ code: "typeof survived" });
    let result = "";
    fresh.onIOPub = (m) => {
      if (KernelMessage.isExecuteResultMsg(m)) result = String(m.content.data["text/plain"]);
    };
    const freshReply = await fresh.done;
    // After a restart the old declarations are gone: `survived` no longer type-checks.
    assert.equal(freshReply.content.status, "error", result);

    await session.shutdown();
    const running = (await (await fetch(`${server.url}/api/kernels?token=${server.token}`)).json()) as unknown[];
    assert.equal(running.length, 0);
    // Figures load plotly.js from the kernelspec, which Jupyter Server (JupyterLab's) serves too.
    const lib = await fetch(`${server.url}/kernelspecs/rwkv-ts/plotly.min.js?token=${server.token}`);
    assert.equal(lib.status, 200);
    assert.match((await lib.text()).slice(0, 200), /plotly\.js v\d/);
  } finally {
    sessions.dispose();
    kernelManager.dispose();
    await server.stop();
  }
});
