// Syntax questions the kernel asks about a cell: completeness for consoles, top-level for-await,
// the call around the cursor for inspection, exit/quit; and how failed cells are shown.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  calleeAt,
  exitCommand,
  expandShorthandProperties,
  hasTopLevelForAwait,
  helpQuery,
  isComplete,
} from "../../kernel/jupyter/cell-syntax";
import type { CellSource } from "../../kernel/jupyter/executor";
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

test("userTraceback: cell frames with the user's line, user modules kept, internals counted", () => {
  const root = "/opt/rwkv-notebook";
  const cells: Record<string, CellSource> = {
    "In[3]": {
      label: "In [3]",
      source: "function step(n: number): number {\n  if (n > 1) throw new Error('x');\n  return n;\n}",
      compiled: [
        '(function(exports, require) { Object.defineProperty(exports, "__esModule", { value: true });',
        "function step(n) {",
        "    if (n > 1) throw new Error('x');",
        "    return n;",
        "}",
        "exports.step = step;",
        "",
        "})(__tslab__.exports, __tslab__.require)",
      ],
    },
    "In[7]": {
      label: "In [7]",
      source: 'import { helper } from "./util";\nconst n: number = 2;\nhelper(step(n as number));',
      compiled: [
        '(async function(exports, require) { const util_1 = require("./util");',
        "const n = 2;",
        "(0, util_1.helper)(exports.step(n));",
        "",
        "})(__tslab__.exports, __tslab__.require)",
      ],
    },
  };
  const stack = [
    "In[3]:3",
    "    if (n > 1) throw new Error('x');",
    "                ^",
    "",
    "Error: x",
    "    at Proxy.step (In[3]:3:22)",
    "    at In[7]:3:40",
    `    at Tuner.run (${root}/dist/kernel/runtime/tune/tuner.js:10:5)`,
    "    at helper (/home/me/project/util.js:4:2)",
    "    at new Promise (<anonymous>)",
    "    at async In[7]:5:3",
    "    at Script.runInThisContext (node:vm:137:12)",
    `    at Object.execute (${root}/node_modules/tslab/dist/executor.js:160:38)`,
    "    at node:internal/main/run_main_module:23:47",
  ].join("\n");
  const ctx = { packageRoot: root, cellSource: (f: string) => cells[f] };
  assert.deepEqual(userTraceback(stack, ctx), [
    "Error: x",
    "    at step (In [3], line 2)",
    "        if (n > 1) throw new Error('x');",
    "    at In [7], line 3",
    "        helper(step(n as number));",
    "    at helper (/home/me/project/util.js:4:2)",
    "(6 internal frames hidden: run %tb to see them)",
  ]);
  // A cell that failed to compile has only Node's header to say where.
  const syntax =
    "In[3]:3\n    if (n > 1) throw new Error('x');\n    ^\n\nSyntaxError: bad\n    at new Script (node:vm:117:7)";
  assert.deepEqual(userTraceback(syntax, ctx), [
    "In [3], line 2",
    "    if (n > 1) throw new Error('x');",
    "    ^",
    "",
    "SyntaxError: bad",
    "(1 internal frame hidden: run %tb to see them)",
  ]);
  // An internal file's header is dropped.
  const internal = `${root}/dist/kernel/runtime/tune/options.js:26\n  throw e;\n  ^\n\nRangeError: r\n    at In[7]:2:1`;
  assert.deepEqual(userTraceback(internal, ctx), [
    "RangeError: r",
    "    at In [7], line 2",
    "        const n: number = 2;",
  ]);
  assert.equal(fullTracebacks({ RWKV_TS_TRACEBACK: "full" }), true);
  assert.equal(fullTracebacks({}), false);
});

test("interruptMessage names the cancelled step when the error carries it", () => {
  const e = Object.assign(new Error("aborted"), { name: "AbortError", step: 12 });
  assert.equal(interruptMessage(e), "step 12 cancelled, state unchanged");
  assert.equal(interruptMessage(new Error("aborted")), "interrupted by the user");
  assert.equal(interruptMessage(undefined), "interrupted by the user");
});

test("expandShorthandProperties: { a } becomes { a: a }; destructuring, defaults and strings stay", () => {
  assert.equal(expandShorthandProperties("f({ a, b: 1, c });"), "f({ a: a, b: 1, c: c });");
  assert.equal(expandShorthandProperties("const x = {\n  model,\n};"), "const x = {\n  model: model,\n};");
  assert.equal(expandShorthandProperties("const { a, b } = o;"), "const { a, b } = o;");
  assert.equal(expandShorthandProperties("({ a = 1 } = o);"), "({ a = 1 } = o);");
  assert.equal(expandShorthandProperties('const s = "{ a }";'), 'const s = "{ a }";');
  assert.equal(expandShorthandProperties("1 + 2"), "1 + 2");
});
