// Checkpoint loading: open + read every tensor as the model loader does, in a child process so
// its peak RSS is the loader's own. The acceptance bar is peak RSS < 1.3× the file size.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BenchRow } from "./types";
import { writeRandomCheckpoint } from "../kernel/runtime/model/random-checkpoint";

export interface LoadMeasurement {
  bytes: number;
  tensors: number;
  openMs: number;
  readMs: number;
  /** Peak RSS of the whole child process, and its RSS before opening the file. */
  maxRssBytes: number;
  baseRssBytes: number;
  mmap: boolean;
}

// Runs in the child: opens the checkpoint, detects the config, reads every tensor, keeps it (the
// model holds every weight) and touches each page of its bytes (the addon reads them all).
const CHILD = `
const [ckptDir, file] = process.argv.slice(1);
const { openCheckpoint } = require(ckptDir + "/checkpoint");
const { detectConfig } = require(ckptDir + "/model/config");
let mmap = false;
try { mmap = typeof require(ckptDir + "/native").native().mmapFile === "function"; } catch {}
const base = process.resourceUsage().maxRSS * 1024;
let t = process.hrtime.bigint();
const c = openCheckpoint(file);
detectConfig(c);
const openMs = Number(process.hrtime.bigint() - t) / 1e6;
t = process.hrtime.bigint();
let sum = 0;
const kept = c.keys().map((k) => c.read(k));
for (const { data } of kept) for (let i = 0; i < data.length; i += 4096) sum += data[i];
const readMs = Number(process.hrtime.bigint() - t) / 1e6;
const maxRssBytes = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ tensors: kept.length, openMs, readMs, maxRssBytes, baseRssBytes: base, mmap, sum }));
`;

/** `env` lets a caller pick the addon (RWKV_NATIVE), e.g. one without mmapFile. */
export function measureLoad(file: string, env: NodeJS.ProcessEnv = process.env): LoadMeasurement {
  const runtimeDir = path.join(__dirname, "..", "kernel", "runtime");
  const out = execFileSync(process.execPath, ["-e", CHILD, runtimeDir, file], { encoding: "utf8", env });
  const r = JSON.parse(out.trim().split("\n").pop() as string);
  return {
    bytes: fs.statSync(file).size,
    tensors: r.tensors,
    openMs: r.openMs,
    readMs: r.readMs,
    maxRssBytes: r.maxRssBytes,
    baseRssBytes: r.baseRssBytes,
    mmap: r.mmap,
  };
}

/** The 0.1B-shaped (L12 C768 V65536) bf16 checkpoint, written once into the temp folder. */
export function benchCheckpoint(): { file: string; writeMs?: number } {
  const file = path.join(os.tmpdir(), "rwkv-bench-x070-L12-C768-V65536-bf16.pth");
  if (fs.existsSync(file)) return { file };
  const t = Date.now();
  writeRandomCheckpoint(file, { version: 7, nLayer: 12, nEmbd: 768, vocabSize: 65536, dtype: "bf16", seed: 1 });
  return { file, writeMs: Date.now() - t };
}

export async function runLoadBench(): Promise<BenchRow[]> {
  const { file, writeMs } = benchCheckpoint();
  const m = measureLoad(file);
  const mb = m.bytes / 1e6,
    name = `0.1B bf16 (${mb.toFixed(0)} MB, ${m.tensors} tensors)`;
  const how = m.mmap ? "native mmapFile" : "positional reads (no mmapFile in the addon)";
  const rows: BenchRow[] = [
    { group: "load", name: `open + detectConfig ${name}`, value: m.openMs, unit: "ms", note: how },
    {
      group: "load",
      name: `read every tensor ${name}`,
      value: mb / ((m.openMs + m.readMs) / 1000),
      unit: "MB/s",
      note: "open + read, page cache warm",
    },
    {
      group: "load",
      name: `peak RSS / file size ${name}`,
      value: m.maxRssBytes / m.bytes,
      unit: "×",
      note: `bar 1.3×; ${(m.baseRssBytes / 1e6).toFixed(0)} MB of it is node before opening`,
    },
  ];
  if (writeMs !== undefined)
    rows.push({
      group: "load",
      name: `writeRandomCheckpoint ${name}`,
      value: mb / (writeMs / 1000),
      unit: "MB/s",
      note: "random generation dominates",
    });
  return rows;
}

if (require.main === module) {
  runLoadBench().then(
    (rows) => console.table(rows),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
