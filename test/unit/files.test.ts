// The one atomic writer: temporary name beside the target, previous file intact on failure,
// leftovers of killed writers removed on the next write; and positional reads that name the end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readFully, writeFileAtomic } from "../../kernel/runtime/files";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-files-"));

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

test("writes through a temporary name; a failing write keeps the previous file and leaves nothing", () => {
  const f = path.join(tmp, "out.bin");
  writeFileAtomic(f, (fd) => fs.writeFileSync(fd, "first"));
  assert.equal(fs.readFileSync(f, "utf8"), "first");
  assert.throws(
    () =>
      writeFileAtomic(f, (fd) => {
        fs.writeFileSync(fd, "half");
        throw new Error("disk full");
      }),
    /disk full/,
  );
  assert.equal(fs.readFileSync(f, "utf8"), "first");
  assert.deepEqual(fs.readdirSync(tmp).sort(), ["out.bin"]);
});

test("temporary files of killed writers (both naming schemes) go on the next write; live ones stay", () => {
  const f = path.join(tmp, "state.pth");
  const dead = deadPid();
  const stale = [`.state.pth.tmp-${dead}-0`, `state.pth.tmp-${dead}-lx3k2`, `state.pth.tmp-${dead}`];
  const live = `.state.pth.tmp-${process.ppid}-7`; // the parent runs: maybe a concurrent writer
  const other = `.other.pth.tmp-${dead}-0`; // another target's: not ours to clean
  for (const n of [...stale, live, other]) fs.writeFileSync(path.join(tmp, n), "x");
  writeFileAtomic(f, (fd) => fs.writeFileSync(fd, "new"));
  const left = fs.readdirSync(tmp);
  for (const n of stale) assert.ok(!left.includes(n), `${n} removed`);
  assert.ok(left.includes(live) && left.includes(other) && left.includes("state.pth"));
});

test("readFully reads the whole range or names where the file ended", () => {
  const f = path.join(tmp, "ten.bin");
  fs.writeFileSync(
    f,
    Uint8Array.from({ length: 10 }, (_, i) => i),
  );
  const fd = fs.openSync(f, "r");
  try {
    const out = new Uint8Array(4);
    readFully(fd, out, 3, () => new Error("never"));
    assert.deepEqual([...out], [3, 4, 5, 6]);
    assert.throws(
      () => readFully(fd, new Uint8Array(5), 8, (at) => new Error(`ended at byte ${at}`)),
      /ended at byte 10/,
    );
  } finally {
    fs.closeSync(fd);
  }
});
