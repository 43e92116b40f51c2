// Typed errors: every refusal of bad input is an RwkvError of one kind, catchable by class or by
// name, and carries the file, key or line it is about as fields.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  BinIdxDataset,
  CheckpointError,
  DataError,
  RwkvError,
  StateFileError,
  TunerCheckpointError,
  VocabError,
  openCheckpoint,
  readJsonlTexts,
  writePth,
  writeBinIdx,
} from "../../kernel";
import { readTimeStates } from "../../kernel/runtime/tune/state-file";
import { readTunerCheckpoint } from "../../kernel/runtime/tune/tuner-checkpoint";
import { parseVocab } from "../../kernel/runtime/tokenizer/vocab-file";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-errors-"));

/** Runs fn and returns what it threw (failing when nothing was thrown). */
async function caught(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  assert.fail("nothing was thrown");
}

function kind(e: Error, cls: new (...a: never[]) => Error, name: string): void {
  assert.ok(e instanceof cls, `${e.name}: ${e.message}`);
  assert.ok(e instanceof RwkvError);
  assert.equal(e.name, name);
}

test("CheckpointError: a truncated checkpoint names the file", async () => {
  const f = path.join(tmp, "cut.pth");
  writePth(f, { "a.weight": { dtype: "f32", shape: [4], data: new Uint8Array(16) } });
  fs.truncateSync(f, fs.statSync(f).size - 30);
  const e = await caught(() => openCheckpoint(f));
  kind(e, CheckpointError, "CheckpointError");
  assert.equal((e as CheckpointError).file, f);
});

test("DataError: a bad jsonl line names the file, the line and the reason", async () => {
  const f = path.join(tmp, "bad.jsonl");
  fs.writeFileSync(f, '{"text": "ok"}\n{"txt": "no text field"}\n');
  const e = await caught(async () => {
    for await (const _ of readJsonlTexts(f)) void _;
  });
  kind(e, DataError, "DataError");
  const d = e as DataError;
  assert.deepEqual([d.file, d.line, d.reason], [f, 2, "no-text"]);
  const idx = path.join(tmp, "d");
  writeBinIdx(idx, [[1, 2, 3]]);
  fs.truncateSync(`${idx}.idx`, 20);
  const b = await caught(() => BinIdxDataset.open(idx));
  kind(b, DataError, "DataError");
  assert.equal((b as DataError).file, `${idx}.idx`);
});

test("VocabError (a DataError): the vocab file and line", async () => {
  const e = await caught(() => parseVocab("1 'a' 1\n2 'bc' 3\n", "v.txt"));
  kind(e, VocabError, "VocabError");
  assert.ok(e instanceof DataError);
  assert.deepEqual([(e as VocabError).file, (e as VocabError).line], ["v.txt", 2]);
});

test("StateFileError: a state file that does not fit names the file and key", async () => {
  const f = path.join(tmp, "state.pth");
  writePth(f, { "blocks.0.att.time_state": { dtype: "f32", shape: [2, 4, 4], data: new Uint8Array(128) } });
  const e = await caught(() => readTimeStates({ nLayer: 1, nEmbd: 12, nHead: 3, headSize: 4 }, f));
  kind(e, StateFileError, "StateFileError");
  assert.deepEqual([(e as StateFileError).file, (e as StateFileError).key], [f, "blocks.0.att.time_state"]);
});

test("TunerCheckpointError: the file", async () => {
  const f = path.join(tmp, "x.ckpt");
  fs.writeFileSync(f, "RWKVTUNE");
  const e = await caught(() => readTunerCheckpoint(f));
  kind(e, TunerCheckpointError, "TunerCheckpointError");
  assert.equal((e as TunerCheckpointError).file, f);
});
