// The kernel's input history: sessions, tail/range/search with IPython's semantics, appends from
// several processes at once, compaction to a bound, and files damaged by a crash.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { History, globToRegExp, toItems } from "../../kernel/jupyter/history";

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-history-"));

test("sessions are numbered in order; tail, range (relative sessions) and output items", () => {
  const dir = tmp();
  const a = new History(dir);
  assert.equal(a.currentSession(), 1);
  a.record(1, "const x = 1;");
  a.record(2, "x + 1", "2");
  a.record(3, "   "); // blank cells are not kept
  const b = new History(dir);
  assert.equal(b.currentSession(), 2);
  b.record(1, "'b'", "b");
  assert.deepEqual(
    b.tail(2).map((e) => [e.session, e.line, e.source]),
    [
      [1, 2, "x + 1"],
      [2, 1, "'b'"],
    ],
  );
  assert.deepEqual(b.tail(0), []);
  assert.deepEqual(
    b.range(-1).map((e) => e.line),
    [1, 2],
  );
  assert.deepEqual(
    b.range(1, 2, 3).map((e) => e.source),
    ["x + 1"],
  );
  assert.deepEqual(
    b.range(0).map((e) => e.source),
    ["'b'"],
  );
  assert.deepEqual(toItems(b.range(1), true), [
    [1, 1, ["const x = 1;", null]],
    [1, 2, ["x + 1", "2"]],
  ]);
  assert.deepEqual(toItems(b.range(1), false), [
    [1, 1, "const x = 1;"],
    [1, 2, "x + 1"],
  ]);
  fs.rmSync(dir, { recursive: true });
});

test("search: whole-source glob, case-sensitive; unique keeps the latest of each; n keeps the last n", () => {
  const dir = tmp();
  const h = new History(dir);
  ["tuner.step()", "await tuner.run()", "tuner.step()", "Tuner.name", "tuner.steps"].forEach((s, i) =>
    h.record(i + 1, s),
  );
  const lines = (es: { line: number }[]) => es.map((e) => e.line);
  assert.deepEqual(lines(h.search("tuner.*")), [1, 3, 5]);
  assert.deepEqual(lines(h.search("*tuner*")), [1, 2, 3, 5]);
  assert.deepEqual(lines(h.search("tuner.step?")), [5]);
  assert.deepEqual(lines(h.search("[Tt]uner.*")), [1, 3, 4, 5]);
  assert.deepEqual(lines(h.search("tuner.*", { unique: true })), [3, 5]);
  assert.deepEqual(lines(h.search("*", { n: 2 })), [4, 5]);
  assert.deepEqual(lines(h.search("tuner.*", { unique: true, n: 1 })), [5]);
  fs.rmSync(dir, { recursive: true });
});

test("glob: * and ? span newlines, classes and negation, regexp characters are literal", () => {
  assert.ok(globToRegExp("a*b").test("a\nx\nb"));
  assert.ok(globToRegExp("a?c").test("a\nc"));
  assert.ok(!globToRegExp("a?c").test("ac"));
  assert.ok(globToRegExp("[^x]y").test("zy"));
  assert.ok(!globToRegExp("[^x]y").test("xy"));
  assert.ok(globToRegExp("f(1) + [").test("f(1) + ["));
  assert.ok(!globToRegExp("a.b").test("axb"));
});

test("a damaged line (a crash mid-write) is skipped; the rest is read", () => {
  const dir = tmp();
  const h = new History(dir);
  h.record(1, "one");
  fs.appendFileSync(h.file, '{"session":1,"line":2,"sou');
  fs.appendFileSync(h.file, "\n");
  h.record(3, "three");
  assert.deepEqual(
    h.entries().map((e) => e.source),
    ["one", "three"],
  );
  fs.rmSync(dir, { recursive: true });
});

test("the file is compacted to its newest entries past the bound", () => {
  const dir = tmp();
  const h = new History(dir, { maxBytes: 4000, keepBytes: 2000 });
  for (let i = 1; i <= 200; i++) h.record(i, `cell number ${i} ${"x".repeat(20)}`);
  const size = fs.statSync(h.file).size;
  assert.ok(size <= 4000, `size ${size}`);
  const lines = h.entries().map((e) => e.line);
  assert.equal(lines[lines.length - 1], 200);
  assert.deepEqual(
    lines,
    lines.map((_, i) => lines[0] + i),
    "a contiguous run of the newest",
  );
  assert.equal(new History(dir).currentSession(), 2);
  fs.rmSync(dir, { recursive: true });
});

test("a lock left by a dead kernel is taken over; a live one makes the write give up, not hang", () => {
  const dir = tmp();
  const h = new History(dir, { lockTimeoutMs: 100 });
  h.record(1, "first");
  const lock = `${h.file}.lock`;
  fs.writeFileSync(lock, "");
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(lock, old, old);
  assert.equal(h.record(2, "after a stale lock"), true);
  fs.writeFileSync(lock, "");
  const t0 = Date.now();
  const err = process.stderr.write;
  process.stderr.write = () => true;
  try {
    assert.equal(h.record(3, "lock held"), false);
  } finally {
    process.stderr.write = err;
  }
  assert.ok(Date.now() - t0 < 2000);
  assert.deepEqual(
    h.entries().map((e) => e.line),
    [1, 2],
  );
  fs.rmSync(dir, { recursive: true });
});

test("two kernels appending at once: every entry kept whole, each kernel its own session", async () => {
  const dir = tmp();
  const mod = path.resolve(__dirname, "../../kernel/jupyter/history.js");
  const script = `const { History } = require(${JSON.stringify(mod)});
const h = new History(${JSON.stringify(dir)}, { maxBytes: 1e9 });
for (let i = 1; i <= 150; i++)
  if (!h.record(i, "proc " + process.argv[1] + " cell " + i + " " + "y".repeat(300))) process.exit(2);`;
  const run = (name: string) =>
    new Promise<number | null>((resolve) => spawn(process.execPath, ["-e", script, name]).on("exit", resolve));
  assert.deepEqual(await Promise.all([run("A"), run("B"), run("C")]), [0, 0, 0]);
  const entries = new History(dir).entries();
  assert.equal(entries.length, 450);
  assert.equal(fs.readFileSync(path.join(dir, "history.jsonl"), "utf8").split("\n").length, 451);
  const sessionsOf = new Map<string, Set<number>>();
  for (const e of entries) {
    const proc = e.source.split(" ")[1];
    if (!sessionsOf.has(proc)) sessionsOf.set(proc, new Set());
    sessionsOf.get(proc)!.add(e.session);
  }
  const sessions = [...sessionsOf.values()].map((s) => [...s]);
  assert.deepEqual(
    sessions.map((s) => s.length),
    [1, 1, 1],
  );
  assert.deepEqual(sessions.map((s) => s[0]).sort(), [1, 2, 3]);
  fs.rmSync(dir, { recursive: true });
});
