// The kernel uses tslab's unexported internals (tslab/dist/converter, tslab/dist/executor and its
// TypeScript copy's `sys`), so tslab is pinned to one exact version. This test fails loudly, naming
// what moved, if a tslab install no longer has the functions and fields kernel/jupyter relies on.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const USED_BY = "kernel/jupyter/executor.ts and resolve.ts use it: pin tslab back or adapt them";

function expectFunctions(what: string, obj: unknown, names: string[]): void {
  for (const n of names)
    assert.equal(
      typeof (obj as Record<string, unknown>)?.[n],
      "function",
      `tslab internals changed: ${what}.${n} is gone; ${USED_BY}`,
    );
}

test("tslab is pinned to one exact version, the one installed", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  const installed = (require("tslab/package.json") as { version: string }).version;
  assert.match(pkg.dependencies.tslab, /^\d+\.\d+\.\d+$/, "tslab must be pinned exactly (no ^ or ~)");
  assert.equal(installed, pkg.dependencies.tslab, "the installed tslab is not the pinned one");
});

test("tslab/dist/converter and tslab/dist/executor have what the kernel calls, and behave as it expects", async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the unexported internals under test
  const conv = require("tslab/dist/converter") as typeof import("tslab/dist/converter");
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
  const exec = require("tslab/dist/executor") as typeof import("tslab/dist/executor");
  expectFunctions("tslab/dist/converter", conv, ["createConverter", "isCompleteCode"]);
  expectFunctions("tslab/dist/executor", exec, ["createExecutor"]);
  assert.deepEqual(conv.isCompleteCode("for (let i = 0; i < 3; i++) {").completed, false);
  assert.deepEqual(conv.isCompleteCode("let z = 1;").completed, true);

  const node = conv.createConverter({ isJS: false, isBrowser: false });
  expectFunctions("Converter", node, ["addModule", "close", "convert", "complete", "inspect"]);
  assert.deepEqual(node.addModule("__probe__", "export const probe = 1;\n"), [], "addModule returns diagnostics");
  const logged: unknown[] = [],
    errors: unknown[][] = [];
  const executor = exec.createExecutor(
    process.cwd(),
    { node, browser: node, close: () => node.close() },
    { log: (v: unknown) => logged.push(v), error: (...a: unknown[]) => errors.push(a) },
  );
  try {
    expectFunctions("Executor", executor, ["execute", "interrupt", "complete", "inspect", "close"]);
    assert.equal(await executor.execute("const a: number = 40;\na + 2"), true);
    assert.deepEqual(logged, [42], "the last expression's value goes to console.log");
    assert.equal(await executor.execute("const s: string = 1;"), false);
    assert.ok(
      errors.some((a) => typeof a[0] === "string" && a[0].startsWith("%s%d:%d - %s")),
      `type errors are printf-style "%s%d:%d - %s" diagnostics (executor.ts parses them); ` +
        `got ${JSON.stringify(errors)}`,
    );
    assert.ok(executor.complete("Math.ma", 7).candidates.includes("max"), "complete() returns candidates");
    const info = executor.inspect("Math.max", 6);
    assert.ok(
      info?.displayParts?.some((p) => p.text === "max"),
      "inspect() returns quick info with displayParts",
    );
  } finally {
    executor.close();
  }
});

test("tslab's TypeScript copy exposes the sys functions the package resolution patches", () => {
  const tslabDir = path.dirname(require.resolve("tslab/package.json"));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- found from tslab's folder, as resolve.ts does
  const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] })) as { sys: unknown };
  expectFunctions("@tslab/typescript-for-tslab sys", ts.sys, ["fileExists", "directoryExists", "readFile", "realpath"]);
});
