// A tuner checkpoint for resuming: one file = "RWKVTUNE" + u32 JSON length + JSON (options, step,
// sampler position, history, model dims) + the fp32 master state and Adam moments, 8-byte aligned.
// Written to a temporary name and renamed into place.
import * as fs from "node:fs";
import type { SamplerState } from "../data/samplers";
import { checkWritableFolder, removeQuietly, tempPathFor } from "../data/atomic-files";
import type { StateDims } from "../model/state";
import type { StepRecord, TunerOptions } from "./types";

const MAGIC = "RWKVTUNE";
export interface TunerCheckpointMeta {
  options: Omit<TunerOptions, "initState">;
  steps: number;
  sampler: SamplerState;
  history: StepRecord[];
  dims: StateDims;
  baseSha256: string;
}
export interface TunerArrays {
  master: Float32Array;
  m: Float32Array;
  v: Float32Array;
}
const NAMES = ["master", "m", "v"] as const;

export async function writeTunerCheckpoint(
  file: string,
  meta: TunerCheckpointMeta,
  arrays: TunerArrays,
): Promise<void> {
  checkWritableFolder(file);
  let json = Buffer.from(JSON.stringify({ ...meta, format: 1, lengths: NAMES.map((n) => arrays[n].length) }));
  const pad = (8 - ((12 + json.length) % 8)) % 8;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, "latin1");
  head.writeUInt32LE(json.length, 8);
  const tmp = tempPathFor(file);
  try {
    const fh = await fs.promises.open(tmp, "w");
    try {
      await fh.write(head);
      await fh.write(json);
      for (const n of NAMES)
        await fh.write(new Uint8Array(arrays[n].buffer, arrays[n].byteOffset, arrays[n].byteLength));
      await fh.sync();
    } finally {
      await fh.close();
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    throw new Error(`could not write tuner checkpoint ${file}: ${(e as Error).message}`);
  }
}

export function readTunerCheckpoint(file: string): { meta: TunerCheckpointMeta; arrays: TunerArrays } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read tuner checkpoint ${file}: ${(e as Error).message}`);
  }
  if (buf.length < 12 || buf.toString("latin1", 0, 8) !== MAGIC)
    throw new Error(`${file} is not a tuner checkpoint (it does not start with ${MAGIC})`);
  const jlen = buf.readUInt32LE(8);
  if (12 + jlen > buf.length) throw new Error(`${file}: truncated header`);
  let meta: TunerCheckpointMeta & { lengths: number[] };
  try {
    meta = JSON.parse(buf.toString("utf8", 12, 12 + jlen));
  } catch (e) {
    throw new Error(`${file}: bad header JSON: ${(e as Error).message}`);
  }
  let off = 12 + jlen;
  const arrays = {} as TunerArrays;
  NAMES.forEach((n, i) => {
    const len = meta.lengths?.[i];
    if (!Number.isInteger(len) || off + 4 * len > buf.length) throw new Error(`${file}: array ${n} is truncated`);
    arrays[n] = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + 4 * len));
    off += 4 * len;
  });
  if (arrays.master.length !== arrays.m.length || arrays.m.length !== arrays.v.length)
    throw new Error(`${file}: state and moment sizes differ`);
  return { meta, arrays };
}
