// Real-run tuning options on the 0.1B shape (L12 C768 V65536, random bf16 weights):
//  - layers: seconds per step training the top 3 of 12 layers' states against all 12, alternating in
//    one process (the backward stops below layer 9; the forward and the head's backward stay);
//  - long context: peak RSS and seconds per step at ctx 512 and ctx 4096 in chunks of 512 (exact
//    chunked BPTT), and ctx 4096 unchunked for reference, each in its own process (peak RSS is a
//    process-lifetime number), with the RSS after each step to see whether the allocator drifts.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Dataset } from "../kernel/runtime/data/dataset";
import { Model } from "../kernel/runtime/model/model";
import { writeRandomCheckpoint } from "../kernel/runtime/model/random-checkpoint";
import { native } from "../kernel/runtime/native";
import { Tuner } from "../kernel/runtime/tune/tuner";
import type { BenchRow } from "./types";

const SHAPE = { version: 7 as const, nLayer: 12, nEmbd: 768, vocabSize: 65536 };
const TAG = "0.1B L12 C768 bf16";

function withModel<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-bench-tuning-"));
  const file = path.join(dir, "rand-bf16.pth");
  writeRandomCheckpoint(file, { ...SHAPE, dtype: "bf16", seed: 1 });
  return fn(file).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

/** Random tokens as documents long enough for any sample. */
function randomData(tokens: number): Dataset {
  let x = 12345;
  const t = Int32Array.from({ length: tokens }, () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return 1 + (x % (SHAPE.vocabSize - 1));
  });
  return Dataset.fromDocs([t]);
}

export async function runTuneLayersBench(): Promise<BenchRow[]> {
  const threads = native().info().threads;
  return withModel(async (file) => {
    const model = await Model.load(file, { device: "cpu" });
    try {
      const data = randomData(8192);
      const opts = { ctxLen: 512, totalSteps: 100, sampler: "random" as const, seed: 1 };
      const all = new Tuner(model, data, opts),
        top = new Tuner(model, data, { ...opts, layers: [9, 10, 11] });
      await all.step(); // warm-up: first-touch of weights and buffers
      await top.step();
      const wall = { all: [] as number[], top: [] as number[] },
        cpu = { all: [] as number[], top: [] as number[] };
      const timed = async (t: Tuner, key: "all" | "top") => {
        const c0 = process.cpuUsage();
        wall[key].push((await t.step()).elapsedMs / 1000);
        const c = process.cpuUsage(c0);
        cpu[key].push((c.user + c.system) / 1e6);
      };
      for (let i = 0; i < 3; i++) {
        await timed(all, "all");
        await timed(top, "top");
      }
      const best = (a: number[]) => Math.min(...a);
      const list = (a: number[]) => a.map((s) => s.toFixed(2)).join(" / ");
      const ratio = best(wall.all) / best(wall.top),
        cpuRatio = best(cpu.all) / best(cpu.top);
      const row = (key: "all" | "top", what: string): BenchRow => ({
        group: "tune",
        name: `step ctx 512, ${what}, ${TAG}, ${threads} threads`,
        value: best(wall[key]),
        unit: "s",
        note: `best of 3, alternating: wall ${list(wall[key])} s; CPU ${list(cpu[key])} s`,
      });
      return [
        row("all", "all 12 layers"),
        row("top", "layers 9-11 (top 3 of 12)"),
        {
          group: "tune",
          name: `layers 9-11 speed-up over all layers, ${TAG}`,
          value: ratio,
          unit: "×",
          note:
            `wall, best steps; target ≥ 1.25× (${ratio >= 1.25 ? "met" : "NOT met"}); ` +
            `CPU time ${cpuRatio.toFixed(2)}×; same process, alternating steps`,
        },
      ];
    } finally {
      model.dispose();
    }
  });
}

interface ChildResult {
  stepS: number[];
  /** CPU seconds of the process per step (all threads; page faults show up as system time). */
  cpuS: number[];
  rssAfterStepMb: number[];
  peakRssMb: number;
  loadedRssMb: number;
}

/** One tuning run in a fresh process: its peak RSS is this configuration's alone. */
function child(file: string, ctxLen: number, chunkLen: number, steps: number): ChildResult {
  const r = spawnSync(process.execPath, [__filename, "child", file, String(ctxLen), String(chunkLen), String(steps)], {
    encoding: "utf8",
    timeout: 30 * 60_000,
    env: process.env,
  });
  if (r.status !== 0) throw new Error(`ctx ${ctxLen} chunk ${chunkLen} failed: ${r.stderr.trim().split("\n").pop()}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as ChildResult;
}

export async function runTuneLongContextBench(): Promise<BenchRow[]> {
  const threads = native().info().threads;
  return withModel(async (file) => {
    const rows: BenchRow[] = [];
    const runs = [
      { ctx: 512, chunk: 512, steps: 2 },
      { ctx: 4096, chunk: 512, steps: 2 },
      { ctx: 4096, chunk: 4096, steps: 1 },
    ];
    const results = runs.map((r) => ({ ...r, res: child(file, r.ctx, r.chunk, r.steps) }));
    const base = results[0].res.peakRssMb;
    for (const { ctx, chunk, res } of results) {
      const what = chunk < ctx ? `ctx ${ctx} in chunks of ${chunk}` : `ctx ${ctx} unchunked`;
      const drift = res.rssAfterStepMb.map((m) => m.toFixed(0)).join(" → ");
      rows.push({
        group: "tune",
        name: `peak RSS, ${what}, ${TAG}`,
        value: res.peakRssMb,
        unit: "MB",
        note:
          `${(res.peakRssMb / base).toFixed(2)}× ctx 512` +
          (ctx === 4096 && chunk === 512 ? ` (target ≤ 2×: ${res.peakRssMb <= 2 * base ? "met" : "NOT met"})` : "") +
          `; after load ${res.loadedRssMb.toFixed(0)} MB; RSS after each step ${drift} MB`,
      });
      rows.push({
        group: "tune",
        name: `step, ${what}, ${TAG}, ${threads} threads`,
        value: Math.min(...res.stepS),
        unit: "s",
        note:
          `wall ${res.stepS.map((s) => s.toFixed(1)).join(" / ")} s, ` +
          `CPU ${res.cpuS.map((s) => s.toFixed(1)).join(" / ")} s; ${(ctx / Math.min(...res.stepS)) | 0} tok/s`,
      });
    }
    return rows;
  });
}

async function childMain(file: string, ctxLen: number, chunkLen: number, steps: number): Promise<void> {
  const model = await Model.load(file, { device: "cpu" });
  const loadedRssMb = process.memoryUsage().rss / 2 ** 20;
  const tuner = new Tuner(model, randomData(2 * ctxLen + 2), {
    ctxLen,
    chunkLen,
    totalSteps: steps,
    sampler: "random",
    seed: 1,
  });
  const stepS: number[] = [],
    cpuS: number[] = [],
    rssAfterStepMb: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    stepS.push((await tuner.step()).elapsedMs / 1000);
    const c = process.cpuUsage(c0);
    cpuS.push((c.user + c.system) / 1e6);
    rssAfterStepMb.push(process.memoryUsage().rss / 2 ** 20);
  }
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  model.dispose();
  console.log(JSON.stringify({ stepS, cpuS, rssAfterStepMb, peakRssMb, loadedRssMb } satisfies ChildResult));
}

if (require.main === module) {
  const [mode, file, ctx, chunk, steps] = process.argv.slice(2);
  const done =
    mode === "child"
      ? childMain(file, Number(ctx), Number(chunk), Number(steps))
      : (async () => console.table([...(await runTuneLayersBench()), ...(await runTuneLongContextBench())]))();
  done.catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
