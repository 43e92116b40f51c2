// Tokenization throughput: World tokenizer alone (1 core) and make-data (jsonl → binidx, all
// cores) on generated jsonl mixing English prose, Chinese and code.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BenchRow } from "./types";
import { WorldTokenizer } from "../kernel/runtime/tokenizer/world";
import { resolveVocab } from "../kernel/runtime/tokenizer/resolve";
import { makeData } from "../kernel/runtime/data/make-data";
import { seededRandom } from "../kernel/runtime/data/random";

const ENGLISH = [
  "The state of a recurrent network carries what it has read so far.",
  "She opened the window and the morning air filled the room.",
  "Prices rose by 3.5% in the second quarter, according to the report.",
  "User: how do I tune the initial state?\n\nAssistant: Train only the state, keep the weights frozen.",
];
const CHINESE = [
  "今天天气很好，我们去公园散步吧。",
  "循环神经网络的状态保存了之前读到的信息。",
  "这是一个关于机器学习的简单例子，包含中文标点符号。",
];
const CODE = [
  "function add(a, b) {\n  return a + b;\n}\n",
  "for (let i = 0; i < n; i++) {\n  sum += x[i] * w[i];\n}\n",
  "def forward(self, x):\n    return self.head(self.ln(x))\n",
];

/** Writes about `bytes` of jsonl, one {"text"} document per line mixing English, Chinese and code. */
export function writeMixedJsonl(file: string, bytes: number, seed = 1): { lines: number; bytes: number } {
  const rand = seededRandom(seed);
  const pick = (a: string[]): string => a[Math.floor(rand() * a.length)];
  const fd = fs.openSync(file, "w");
  let written = 0,
    lines = 0;
  try {
    while (written < bytes) {
      const block: string[] = [];
      for (let k = 0; k < 256; k++) {
        const parts: string[] = [];
        const n = 4 + Math.floor(rand() * 24);
        for (let j = 0; j < n; j++) parts.push(pick(rand() < 0.5 ? ENGLISH : rand() < 0.6 ? CHINESE : CODE));
        block.push(JSON.stringify({ text: parts.join(" ") }));
      }
      const chunk = `${block.join("\n")}\n`;
      fs.writeSync(fd, chunk);
      written += Buffer.byteLength(chunk);
      lines += block.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { lines, bytes: written };
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

export async function runTokenizeBench(): Promise<BenchRow[]> {
  let vocab: string;
  try {
    vocab = resolveVocab({
      vocab:
        process.env.RWKV_VOCAB ??
        path.resolve(__dirname, "..", "..", "..", "shared", "data", "rwkv_vocab_v20230424.txt"),
    });
  } catch (e) {
    return [{ group: "tokenize", name: "world", value: NaN, unit: "MB/s", note: `skipped: ${(e as Error).message}` }];
  }
  const rows: BenchRow[] = [];
  const tok = WorldTokenizer.load(vocab);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-bench-tok-"));
  try {
    const file = path.join(dir, "mixed.jsonl");
    const { bytes } = writeMixedJsonl(file, 64e6);
    const texts = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .slice(0, 20000)
      .filter((l) => l)
      .map((l) => (JSON.parse(l) as { text: string }).text);
    const textBytes = texts.reduce((s, t) => s + Buffer.byteLength(t), 0);
    // CPU seconds next to wall time: on a shared machine wall MB/s mostly measures the load
    const load = `load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores`;
    const t0 = performance.now(),
      c0 = process.cpuUsage();
    let ids = 0;
    for (const t of texts) ids += tok.encode(t).length;
    const s1 = (performance.now() - t0) / 1000,
      cpu1 = cpuSeconds(c0);
    rows.push({
      group: "tokenize",
      name: "World encode, 1 thread, mixed en/zh/code",
      value: textBytes / 1e6 / s1,
      unit: "MB/s",
      note:
        `${(textBytes / ids).toFixed(2)} bytes/token; ` +
        `${(textBytes / 1e6 / cpu1).toFixed(1)} MB per CPU-second; ${load}`,
    });
    const t1 = performance.now(),
      c1 = process.cpuUsage();
    const r = await makeData({ input: file, repeat: 1, ctxLen: 512, out: path.join(dir, "mixed"), tokenizer: tok });
    const s2 = (performance.now() - t1) / 1000,
      cpu2 = cpuSeconds(c1);
    rows.push({
      group: "tokenize",
      name: `make-data jsonl → binidx, ${os.availableParallelism()} workers`,
      value: bytes / 1e6 / s2,
      unit: "MB/s",
      note:
        `${(bytes / 1e6).toFixed(0)} MB jsonl, ${r.tokens} tokens, tokenize pass ${r.tokenizeMBps.toFixed(1)} MB/s; ` +
        `${(bytes / 1e6 / cpu2).toFixed(1)} MB per CPU-second (all threads); ${load}`,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (require.main === module) {
  runTokenizeBench().then(
    (rows) => console.table(rows),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
