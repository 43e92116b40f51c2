// A pool of tokenizer workers (worker_threads, one per core): jobs go to the least busy worker,
// each job's Promise resolves with its result, whatever order workers finish in.
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { Tokenizer } from "../tokenizer/types";
import { WorldTokenizer, type WorldTables } from "../tokenizer/world";
import { ByteTokenizer } from "../tokenizer/bytes";
import type { ChatFields, DataFormat } from "./chat";
import type { LineChunk } from "./jsonl";

export type WorkerTokenizerSpec = { kind: "world"; tables: WorldTables } | { kind: "bytes" };
export interface WorkerInit {
  tokenizer: WorkerTokenizerSpec;
  file: string;
  skipBad: boolean;
  /** text: make_data.py's `text` lines; chat: chat/SFT lines too, with a loss mask (chat.ts). */
  format: DataFormat;
  fields: ChatFields;
}
/**
 * One chunk of whole lines. `chunk.bytes` and `output` live in SharedArrayBuffers owned by the
 * caller and reused for later chunks (so nothing is allocated per chunk); output has room for
 * chunk.bytes.length + 1 tokens (text) or twice that (chat: the template adds role names; see
 * tokenize-worker.ts).
 */
export interface ChunkJob {
  id: number;
  chunk: LineChunk;
  firstLine: number;
  output: Uint16Array;
  /** chat format: receives each output token's loss-mask byte (1 = counts). */
  mask: Uint8Array | null;
}
export interface BadLine {
  line: number;
  reason: string;
  message: string;
}
export interface ChunkResult {
  id: number;
  lines: number;
  /** output[0, tokens) holds every document's tokens, each ending in token 0; sizes per document. */
  tokens: number;
  sizes: Int32Array;
  /** Lines skipped (skipBad); `error` is the first bad line when not skipping. */
  skipped: BadLine[];
  error?: BadLine;
}

export function workerSpec(t: Tokenizer): WorkerTokenizerSpec {
  if (t instanceof WorldTokenizer) return { kind: "world", tables: t.tables };
  if (t instanceof ByteTokenizer) return { kind: "bytes" };
  throw new Error(
    `make-data: tokenizer '${t.name}' cannot run in workers (use loadTokenizer's world or bytes tokenizer)`,
  );
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>;
}

export class TokenizePool {
  private readonly slots: Slot[] = [];
  private failure: Error | null = null;

  constructor(init: WorkerInit, size = Math.max(1, os.availableParallelism())) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(path.join(__dirname, "tokenize-worker.js"), { workerData: init });
      const slot: Slot = { worker, pending: new Map() };
      worker.on("message", (r: ChunkResult) => {
        const p = slot.pending.get(r.id);
        slot.pending.delete(r.id);
        p?.resolve(r);
      });
      const fail = (e: Error): void => {
        this.failure ??= e;
        for (const p of slot.pending.values()) p.reject(e);
        slot.pending.clear();
      };
      worker.on("error", fail);
      worker.on("exit", (code) => {
        if (slot.pending.size > 0) fail(new Error(`tokenizer worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  get size(): number {
    return this.slots.length;
  }

  run(job: ChunkJob): Promise<ChunkResult> {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return new Promise((resolve, reject) => {
      slot.pending.set(job.id, { resolve, reject });
      slot.worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
