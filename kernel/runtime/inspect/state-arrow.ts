// A state's wkv tensors as an Apache Arrow table (one row per layer, head and value channel, the
// N key-channel values in a fixed-size list; zero-copy over the state's Float32Array), and as
// Arrow IPC bytes that pandas (pyarrow) and polars read.
import * as fs from "node:fs";
import { Field, FixedSizeList, Float32, Table, makeData, makeVector, tableToIPC, Vector } from "apache-arrow";
import { writeFileAtomic } from "../files";
import type { WkvState } from "../model/state";

export function stateTable(s: WkvState): Table {
  const N = s.headSize,
    rows = s.nLayer * s.nHead * N;
  const layer = new Int32Array(rows),
    head = new Int32Array(rows),
    value = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    value[r] = r % N;
    head[r] = Math.floor(r / N) % s.nHead;
    layer[r] = Math.floor(r / (N * s.nHead));
  }
  const child = makeData({ type: new Float32(), length: rows * N, data: s.wkv.subarray(0, rows * N) });
  const keys = makeData({ type: new FixedSizeList(N, new Field("key", new Float32())), length: rows, child });
  return new Table({
    layer: makeVector(layer),
    head: makeVector(head),
    value_channel: makeVector(value),
    keys: new Vector([keys]),
  });
}

/** Writes the table as an Arrow IPC file (`pyarrow.ipc.open_file`, `polars.read_ipc`). */
export function saveStateArrow(s: WkvState, file: string): void {
  const bytes = tableToIPC(stateTable(s), "file");
  try {
    writeFileAtomic(file, (fd) => fs.writeFileSync(fd, bytes));
  } catch (e) {
    throw new Error(`cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}
