// Syntax questions the kernel asks about a cell: completeness for consoles, top-level for-await,
// the call around the cursor for inspection, exit/quit; and how failed cells are shown.
import { test } from "node:test";
import assert from "node:assert/strict";
import { calleeAt, exitCommand, hasTopLevelForAwait, helpQuery, isComplete } from "../../kernel/jupyter/cell-syntax";
import { fullTracebacks, interruptMessage, userTraceback } from "../../kernel/jupyter/traceback";

test("isComplete: complete, incomplete with an indent, invalid", () => {
  assert.deepEqual(isComplete("const a = 1;"), { status: "complete" });
  assert.deepEqual(isComplete(""), { status: "complete" });
  assert.deepEqual(isComplete("for (const x of xs) {"), { status: "incomplete", indent: "  " });
  assert.deepEqual(isComplete("if (a) {\n    f(1,"), { status: "incomplete", indent: "    " });
  assert.deepEqual(isComplete("const s = `two\nlines"), { status: "incomplete", indent: "" });
  assert.deepEqual(isComplete("/* still a comment"), { status: "incomplete", indent: "" });
  assert.deepEqual(isComplete("let = = 3;"), { status: "invalid" });
  assert.deepEqual(isComplete("f(1))"), { status: "invalid" });
  assert.deepEqual(isComplete('const s = "unterminated'), { status: "invalid" });
  // Generic arrows are TypeScript, not JSX.
  assert.deepEqual(isComplete("const id = <T>(x: T) => x;"), { status: "complete" });
  // Two blank lines end the input whatever it holds.
  assert.deepEqual(isComplete("for (;;) {\n\n"), { status: "invalid" });
});

test("hasTopLevelForAwait: only outside functions", () => {
  assert.equal(hasTopLevelForAwait("for await (const p of gen()) console.log(p);"), true);
  assert.equal(hasTopLevelForAwait("if (ok) { for await (const p of gen()) {} }"), true);
  assert.equal(hasTopLevelForAwait("async function f() { for await (const p of gen()) {} }"), false);
  assert.equal(hasTopLevelForAwait("const f = async () => { for await (const p of g()) {} };"), false);
  assert.equal(hasTopLevelForAwait("for (const p of xs) {}"), false);
  assert.equal(hasTopLevelForAwait("await x;"), false);
});

test("calleeAt: the innermost call whose parentheses hold the cursor", () => {
  const at = (code: string, cursor = code.length) => {
    const p = calleeAt(code, cursor);
    return p === undefined ? undefined : /^[\w$]+/.exec(code.slice(p))![0];
  };
  assert.equal(at("f(1, "), "f");
  assert.equal(at("new Tuner("), "Tuner");
  assert.equal(at("await tuner.run({ steps: "), "run");
  assert.equal(at("f(a, g(b, "), "g");
  assert.equal(at("f(a, g(b), "), "f");
  assert.equal(at("f(1)"), undefined);
  assert.equal(at("f(1) + 2"), undefined);
  assert.equal(at("f(1, 2)", 3), "f");
  assert.equal(at("Math.max"), undefined);
  assert.equal(at("const x = 1;\nobj.method(\n  1,\n  "), "method");
});

test("exitCommand: exit and quit alone, with or without a call", () => {
  assert.equal(exitCommand("exit"), "exit");
  assert.equal(exitCommand(" quit() ;\n"), "quit");
  assert.equal(exitCommand("exit(1)"), undefined);
  assert.equal(exitCommand("exitCode"), undefined);
  assert.equal(exitCommand("exit; 1"), undefined);
});

test("helpQuery: IPython's name? and ?name", () => {
  assert.equal(helpQuery("Math.max?"), "Math.max");
  assert.equal(helpQuery("?tuner.run"), "tuner.run");
  assert.equal(helpQuery("rwkv.Tuner??\n"), "rwkv.Tuner");
  assert.equal(helpQuery("Math.max"), undefined);
  assert.equal(helpQuery("a ? b : c"), undefined);
});

test("userTraceback hides node, tslab and package frames, names cell frames, says how to see all", () => {
  const root = "/opt/rwkv-notebook";
  const stack = [
    "evalmachine.<anonymous>:3",
    "throw new Error('x');",
    "^",
    "",
    "Error: x",
    "    at step (evalmachine.<anonymous>:3:9)",
    `    at Tuner.run (${root}/dist/kernel/runtime/tune/tuner.js:10:5)`,
    "    at helper (/home/me/project/util.js:4:2)",
    "    at new Promise (<anonymous>)",
    "    at Script.runInThisContext (node:vm:137:12)",
    `    at Object.execute (${root}/node_modules/tslab/dist/executor.js:160:38)`,
    "    at node:internal/main/run_main_module:23:47",
  ].join("\n");
  assert.deepEqual(userTraceback(stack, { executionCount: 7, packageRoot: root }), [
    "cell[7].js:3",
    "throw new Error('x');",
    "^",
    "",
    "Error: x",
    "    at step (cell[7].js:3:9)",
    "    at helper (/home/me/project/util.js:4:2)",
    "(5 internal frames hidden: run %tb to see them)",
  ]);
  assert.deepEqual(
    userTraceback("RangeError: bad\n    at cell (evalmachine.<anonymous>:1:1)", {
      executionCount: 1,
      packageRoot: root,
    }),
    ["RangeError: bad", "    at cell (cell[1].js:1:1)"],
  );
  assert.equal(fullTracebacks({ RWKV_TS_TRACEBACK: "full" }), true);
  assert.equal(fullTracebacks({}), false);
});

test("interruptMessage names the cancelled step when the error carries it", () => {
  const e = Object.assign(new Error("aborted"), { name: "AbortError", step: 12 });
  assert.equal(interruptMessage(e), "step 12 cancelled, state unchanged");
  assert.equal(interruptMessage(new Error("aborted")), "interrupted by the user");
  assert.equal(interruptMessage(undefined), "interrupted by the user");
});
