// Runtime benchmark on the 0.1B shape (L12 C768 V65536, random weights, fp32 and bf16): sequence
// mode tokens/s over a 512-token prompt with all logits, RNN tokens/s, seconds per state-tuning
// step (ctx 512, bsz 1) and the peak RSS of a process that loads the model and runs one step;
// beside it, in the same run, the plain PyTorch spec implementation (bench/pytorch/bench_runtime.py)
// through Debian's /usr/bin/python3 when torch is there, and the machine's limits (bench/machine.ts):
// the sequence forward and the tuning step as a share of the fp32 GEMM limit (OpenBLAS sgemm 2048³
// with its own kernel choice), RNN mode against the memory floor (weight bytes read per token at the
// read bandwidth measured just before and after the decode). The tuning step also runs with bf16
// compute (bf16 weights, where the CPU has AVX512_BF16), in rounds interleaved with fp32 compute,
// and each step's busy time is split by stage (the addon's profiler).
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Model, type Compute } from "../kernel/runtime/model/model";
import { Tuner } from "../kernel/runtime/tune/tuner";
import { Dataset } from "../kernel/runtime/data/dataset";
import { writeRandomCheckpoint } from "../kernel/runtime/model/random-checkpoint";
import { native, type StageName } from "../kernel/runtime/native";
import type { BenchRow } from "./types";
import { isRate, machineLimits, measureReadBandwidth } from "./machine";

const SHAPE = { version: 7 as const, nLayer: 12, nEmbd: 768, vocabSize: 65536 };
const SEQ = 512,
  RNN_TOKENS = 32, // PyTorch's per-token baseline (~0.15 s a token)
  OUR_RNN_TOKENS = 128, // ours: more tokens for a steadier rate
  RNN_RUNS = 3, // our decodes timed (the median: one run of ~1 s swung by ±15% on the shared VM)
  SEQ_RUNS = 3, // sequence forwards timed on each side (the median; bench_runtime.py's SEQ_RUNS)
  TUNE_STEPS = 2;
const PY = "/usr/bin/python3";

interface PyResult {
  seq_s: number;
  rnn_tok_s: number;
  tune_step_s: number;
  peak_rss_mb: number;
  torch: string;
}

function torchBaseline(file: string, threads: number, env: NodeJS.ProcessEnv = process.env): PyResult | string {
  if (!fs.existsSync(PY)) return "no /usr/bin/python3";
  const script = path.join(__dirname, "..", "..", "bench", "pytorch", "bench_runtime.py");
  const r = spawnSync(PY, [script, file, String(SEQ), String(RNN_TOKENS), String(threads)], {
    encoding: "utf8",
    timeout: 15 * 60_000,
    env,
  });
  if (r.status !== 0)
    return `PyTorch baseline failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`;
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as PyResult;
}

// Peak RSS of the tuning step in a process of its own (load the model, one step): the bench
// process itself has held other modules' big arrays (GEMM operands) by the time it gets here.
const RSS_CHILD = `
const [runtimeDir, file, ctx, compute] = process.argv.slice(1);
const { Model } = require(runtimeDir + "/model/model");
const { Tuner } = require(runtimeDir + "/tune/tuner");
const { Dataset } = require(runtimeDir + "/data/dataset");
(async () => {
  const model = await Model.load(file, { device: "cpu", compute });
  const V = model.config.vocabSize, T = Number(ctx);
  const tokens = Int32Array.from({ length: T + 1 }, (_, i) => (i * 7919) % V);
  await new Tuner(model, Dataset.fromDocs([tokens]), { ctxLen: T, totalSteps: 1 }).run({ live: false });
  console.log(JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
})();
`;
function tuningPeakRss(file: string, compute: Compute = "fp32"): number {
  const runtimeDir = path.join(__dirname, "..", "kernel", "runtime");
  const args = ["-e", RSS_CHILD, runtimeDir, file, String(SEQ), compute];
  return JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8" }).trim().split("\n").pop()!).maxRssBytes;
}

type Stages = Record<StageName, { wallS: number; cpuS: number }>;
const STAGE_ORDER: StageName[] = ["gemm", "wkv", "norm", "other", "head", "adam"];
const STAGE_LABEL: Record<StageName, string> = {
  gemm: "GEMMs",
  wkv: "WKV",
  norm: "norms",
  other: "elementwise+other",
  head: "head/loss (less its GEMM)",
  adam: "Adam",
};

/**
 * TUNE_STEPS tuning steps of `model` with the stage profiler on, after one untimed step (a
 * process's first step also faults in its temporaries): seconds and CPU-seconds per step, by stage.
 */
async function profiledSteps(model: Model, tokens: Int32Array): Promise<{ s: number; cpuS: number; stages: Stages }> {
  const tuner = new Tuner(model, Dataset.fromDocs([tokens]), { ctxLen: SEQ, totalSteps: TUNE_STEPS + 1 });
  await tuner.run({ steps: 1, live: false });
  const addon = native();
  addon.stageTimes(true);
  addon.setProfiling(true);
  const c = process.cpuUsage();
  const recs = await tuner.run({ live: false }).finally(() => addon.setProfiling(false));
  const d = process.cpuUsage(c);
  const stages = addon.stageTimes(true);
  for (const k of STAGE_ORDER) {
    stages[k].wallS /= recs.length;
    stages[k].cpuS /= recs.length;
  }
  const s = recs.reduce((a, r) => a + r.elapsedMs, 0) / recs.length / 1000;
  return { s, cpuS: (d.user + d.system) / 1e6 / recs.length, stages };
}

/** "GEMMs 2.1 CPU-s (55%), WKV …": CPU time per step by stage, largest share of the busy time first. */
function stageNote(st: Stages): string {
  const total = STAGE_ORDER.reduce((a, k) => a + st[k].cpuS, 0);
  return STAGE_ORDER.map(
    (k) => `${STAGE_LABEL[k]} ${st[k].cpuS.toFixed(2)} CPU-s (${Math.round((100 * st[k].cpuS) / total)}%)`,
  ).join(", ");
}

const ratio = (ours: number, theirs: number, higherIsBetter: boolean) =>
  `${(higherIsBetter ? ours / theirs : theirs / ours).toFixed(2)}× PyTorch`;

// FLOPs of the 0.1B shape: every matrix weight is used once per token in the forward (2 FLOP per
// weight) and once more in the backward (input gradients only: the weights are frozen); the WKV
// recurrence adds ~9·N² FLOP per head and token forward and about twice that backward.
const N_HEAD_SIZE = 64;
function workGflop(matrixParams: number, tokens: number) {
  const wkv = 9 * N_HEAD_SIZE * N_HEAD_SIZE * (SHAPE.nEmbd / N_HEAD_SIZE) * SHAPE.nLayer * tokens;
  const fwd = 2 * matrixParams * tokens + wkv;
  return { fwd: fwd / 1e9, step: (2 * fwd + 2 * wkv) / 1e9, gemm: (4 * matrixParams * tokens) / 1e9 };
}

const BF16_ROUNDS = 3;

/**
 * The tuning step with bf16 compute beside fp32's (same weights): BF16_ROUNDS rounds, each an fp32
 * then a bf16 profiledSteps, so that both sides meet the same machine (its speed drifts by tens of
 * percent within minutes on a shared VM); the ratio is of the CPU time summed over the rounds.
 */
async function bf16ComputeRows(file: string, tokens: Int32Array, tag: string, fp32Model: Model): Promise<BenchRow[]> {
  const model = await Model.load(file, { device: "cpu", compute: "bf16" });
  try {
    await model.forward(tokens.subarray(0, 16)); // warm-up
    const fp32: Awaited<ReturnType<typeof profiledSteps>>[] = [],
      bf16: typeof fp32 = [];
    for (let r = 0; r < BF16_ROUNDS; r++) {
      fp32.push(await profiledSteps(fp32Model, tokens));
      bf16.push(await profiledSteps(model, tokens));
    }
    const sum = (xs: typeof fp32, f: (x: (typeof fp32)[number]) => number) => xs.reduce((a, x) => a + f(x), 0);
    const mean = (xs: typeof fp32) => ({
      s: sum(xs, (x) => x.s) / xs.length,
      cpuS: sum(xs, (x) => x.cpuS) / xs.length,
    });
    const a = mean(fp32),
      b = mean(bf16);
    const stages = Object.fromEntries(
      STAGE_ORDER.map((k) => [
        k,
        {
          wallS: sum(bf16, (x) => x.stages[k].wallS) / bf16.length,
          cpuS: sum(bf16, (x) => x.stages[k].cpuS) / bf16.length,
        },
      ]),
    ) as Stages;
    const perRound = fp32.map((x, i) => (x.cpuS / bf16[i].cpuS).toFixed(2)).join(", ");
    // Generation with bf16 compute streams the same bf16 weights as with fp32 compute: it must not
    // be slower (its GEMV once was, by ~40%). Interleaved rounds, as above.
    const decodeS = { fp32: 0, bf16: 0 };
    for (let r = 0; r < BF16_ROUNDS; r++)
      for (const [k, m] of [
        ["fp32", fp32Model],
        ["bf16", model],
      ] as const) {
        const t0 = performance.now();
        await m.forward(tokens.subarray(16, 16 + OUR_RNN_TOKENS), { mode: "rnn", logits: "all" });
        decodeS[k] += (performance.now() - t0) / 1000;
      }
    const decodeTokS = (k: keyof typeof decodeS) => (BF16_ROUNDS * OUR_RNN_TOKENS) / decodeS[k];
    return [
      {
        group: "runtime",
        name: `rnn decode (logits every token) ${tag}, bf16 compute`,
        value: decodeTokS("bf16"),
        unit: "tok/s",
        note:
          `${(decodeTokS("bf16") / decodeTokS("fp32")).toFixed(2)}× the fp32-compute decode ` +
          `(${decodeTokS("fp32").toFixed(0)} tok/s), ${BF16_ROUNDS} interleaved rounds of ${OUR_RNN_TOKENS} tokens`,
      },
      { group: "runtime", name: `tune step ctx ${SEQ} bsz 1 ${tag}, bf16 compute`, value: b.s, unit: "s" },
      {
        group: "stages",
        name: `tune step by stage, bf16 compute, ${tag}`,
        value: b.cpuS,
        unit: "CPU-s",
        note: stageNote(stages),
      },
      {
        group: "runtime",
        name: `tune step speed-up of bf16 compute over fp32 compute, ${tag}`,
        value: a.cpuS / b.cpuS,
        unit: "×",
        note:
          `by CPU time (${a.cpuS.toFixed(2)} / ${b.cpuS.toFixed(2)} CPU-s, ${BF16_ROUNDS} interleaved rounds: ` +
          `${perRound}); by wall clock ${(a.s / b.s).toFixed(2)}× (target ≥ 1.6×)`,
      },
      {
        group: "runtime",
        name: `peak RSS of a process that loads the model and runs one tuning step ${tag}, bf16 compute`,
        value: tuningPeakRss(file, "bf16") / 1e6,
        unit: "MB",
        note: "target ≤ 1200 MB",
      },
    ];
  } finally {
    model.dispose();
  }
}

/**
 * The issue's AVX2-only targets: the tuning step on the avx2 path, its GEMMs as a share of the
 * AVX2 FMA peak, and PyTorch held to AVX2 as well (ATEN_CPU_CAPABILITY=avx2, OpenBLAS's Haswell
 * kernels). On an AVX-512 CPU this emulates an AVX2-only one (same cores, narrower vectors); on
 * an AVX2-only CPU it is the real measurement.
 */
async function avx2Rows(
  model: Model,
  file: string,
  tokens: Int32Array,
  tag: string,
  gemmGflop: number,
  lim: ReturnType<typeof machineLimits>,
): Promise<BenchRow[]> {
  const addon = native();
  const { simd, threads, cpu } = addon.info();
  const emulated = cpu.features.includes("avx512f");
  let st: Awaited<ReturnType<typeof profiledSteps>>;
  addon.setSimd("avx2");
  try {
    st = await profiledSteps(model, tokens);
  } finally {
    addon.setSimd(simd);
  }
  const py = torchBaseline(file, threads, {
    ...process.env,
    ATEN_CPU_CAPABILITY: "avx2",
    OPENBLAS_CORETYPE: "Haswell",
  });
  const peak = lim.peak.avx2[threads];
  const gemmBusy = gemmGflop / (st.stages.gemm.cpuS / threads);
  const how = emulated ? "AVX2 path on this AVX-512 CPU (an AVX2-only CPU emulated)" : "AVX2-only CPU";
  return [
    {
      group: "runtime",
      name: `tune step ctx ${SEQ} bsz 1 ${tag}, ${how}`,
      value: st.s,
      unit: "s",
      note:
        (typeof py === "string"
          ? py
          : `${ratio(st.s, py.tune_step_s, false)} held to AVX2 (${py.tune_step_s.toFixed(2)} s); target ≥ 6×`) +
        `; ${stageNote(st.stages)}`,
    },
    {
      group: "runtime",
      name: `the step's GEMMs on the AVX2 path, ${tag}`,
      value: gemmBusy,
      unit: "GFLOP/s",
      note: isRate(peak)
        ? `${Math.round((100 * gemmBusy) / peak.busy)}% of the AVX2 FMA peak ${peak.busy.toFixed(0)} GFLOP/s ` +
          `per CPU-second × threads (target ≥ 85%)`
        : `AVX2 FMA peak n/a: ${peak?.why}`,
    },
  ];
}

export async function runRuntimeBench(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const threads = native().info().threads;
  const lim = machineLimits();
  const gemmLimit = isRate(lim.sgemmLimit) ? lim.sgemmLimit : undefined;
  // Wall-clock share of the limit, and the same from CPU time (per thread: the time our threads
  // ran, against OpenBLAS's rate per CPU-second), which a busy, shared machine distorts far less.
  const limitNote = (gflop: number, seconds: number, cpuSeconds: number) => {
    if (!gemmLimit) return `fp32 GEMM limit n/a: ${"why" in lim.sgemmLimit ? lim.sgemmLimit.why : ""}`;
    const busyS = cpuSeconds / threads;
    return (
      `${Math.round((100 * gflop) / seconds / gemmLimit.wall)}% of the fp32 GEMM limit, ` +
      `${Math.round((100 * gflop) / busyS / gemmLimit.busy)}% by CPU time (${gflop.toFixed(0)} GFLOP in ` +
      `${seconds.toFixed(2)} s, ${busyS.toFixed(2)} CPU-s per thread; OpenBLAS ${gemmLimit.label} ` +
      `${gemmLimit.wall.toFixed(0)} GFLOP/s, ${gemmLimit.busy.toFixed(0)} per CPU-second × threads)`
    );
  };
  // No step can beat its work at the CPU's widest fp32 FMA peak. Where AVX-512 is no wider than AVX2
  // (Zen 4 runs it on 256-bit units), that caps the ratio over PyTorch, whatever the kernels do.
  const fmaCeilingNote = (gflop: number, pySeconds: number | undefined) => {
    const wide = lim.peak.avx512[threads],
      p = isRate(wide) ? wide : lim.peak.avx2[threads];
    if (!isRate(p)) return "";
    const minS = gflop / p.wall;
    return (
      `; at the fp32 FMA peak (${isRate(wide) ? "AVX-512" : "AVX2"}, ${p.wall.toFixed(0)} GFLOP/s) it would take ` +
      `${minS.toFixed(2)} s${pySeconds ? `: ${(pySeconds / minS).toFixed(1)}× PyTorch at most` : ""}`
    );
  };
  const cpuSecondsOf = async (fn: () => Promise<unknown>) => {
    const c = process.cpuUsage();
    await fn();
    const d = process.cpuUsage(c);
    return (d.user + d.system) / 1e6;
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-bench-runtime-"));
  try {
    for (const dtype of ["bf16", "f32"] as const) {
      const file = path.join(dir, `rand-${dtype}.pth`);
      writeRandomCheckpoint(file, { ...SHAPE, dtype, seed: 1 });
      // Per token the model reads every weight but the embedding (one row of it).
      const bytesPerWeight = dtype === "bf16" ? 2 : 4;
      const tokenBytes = fs.statSync(file).size - SHAPE.vocabSize * SHAPE.nEmbd * bytesPerWeight;
      const work = workGflop(tokenBytes / bytesPerWeight, SEQ);
      const tag = `0.1B L12 C768 ${dtype}, ${threads} threads`;
      const model = await Model.load(file, { device: "cpu" });
      const tokens = Int32Array.from({ length: SEQ + 1 }, (_, i) => (i * 7919) % SHAPE.vocabSize);
      try {
        await model.forward(tokens.subarray(0, 16)); // warm-up
        const fp32Step = await profiledSteps(model, tokens);
        const { s: stepS, cpuS: stepCpuS } = fp32Step;
        const rssMb = tuningPeakRss(file) / 1e6;
        // All logits, as PyTorch's baseline and the issue's sequence-forward target compute them.
        // Both sides take the median of SEQ_RUNS forwards after an untimed one (the first one's
        // fresh pages cost each side hundreds of ms of page faults on some VMs, once a session).
        await model.forward(tokens.subarray(0, SEQ), { logits: "all" });
        const seqRuns: { s: number; cpuS: number }[] = [];
        for (let i = 0; i < SEQ_RUNS; i++) {
          const t = performance.now();
          const cpuS = await cpuSecondsOf(() => model.forward(tokens.subarray(0, SEQ), { logits: "all" }));
          seqRuns.push({ s: (performance.now() - t) / 1000, cpuS });
        }
        const { s: seqS, cpuS: seqCpuS } = seqRuns.sort((a, b) => a.s - b.s)[SEQ_RUNS >> 1],
          seqTokS = SEQ / seqS;
        // RNN mode as generation runs it: every token's logits, so the head is read per token, as
        // the memory floor counts it and as PyTorch's per-token baseline computes it.
        // (After a few untimed tokens: each libuv worker thread's first call sets up its buffers.)
        // Each decode is judged against the memory read rate measured just before and just after it
        // (the higher of the two): on the shared VM that rate swings by a third within seconds
        // (31.6 then 42.9 GB/s around one 3.3 s run of three decodes), so one pair of reads around
        // all the runs could belong to another machine state than most of them.
        await model.forward(tokens.subarray(0, 16), { mode: "rnn", logits: "all" });
        let readLoads = "";
        const readGBsNow = () => {
          const m = measureReadBandwidth();
          if (!isRate(m)) return undefined;
          readLoads = m.label ?? "";
          return m.wall;
        };
        const reads = [readGBsNow()];
        const rnnRuns: { tokS: number; share?: number }[] = [];
        for (let i = 0; i < RNN_RUNS; i++) {
          const t0 = performance.now();
          await model.forward(tokens.subarray(16, 16 + OUR_RNN_TOKENS), { mode: "rnn", logits: "all" });
          const tokS = OUR_RNN_TOKENS / ((performance.now() - t0) / 1000);
          reads.push(readGBsNow());
          const [before, after] = reads.slice(-2);
          const floorTokS = before && after ? (Math.max(before, after) * 1e9) / tokenBytes : undefined;
          rnnRuns.push({ tokS, share: floorTokS && tokS / floorTokS });
        }
        const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
        const rnnTokS = median(rnnRuns.map((r) => r.tokS));
        const shares = rnnRuns.every((r) => r.share !== undefined) ? rnnRuns.map((r) => r.share!) : undefined;
        const py = torchBaseline(file, threads);
        const note = (o: number, p: number | undefined, hi: boolean) =>
          typeof py === "string" ? py : ratio(o, p!, hi);
        rows.push({
          group: "runtime",
          name: `seq ${SEQ} all logits ${tag}`,
          value: seqTokS,
          unit: "tok/s",
          note:
            `${note(seqTokS, typeof py === "string" ? undefined : SEQ / py.seq_s, true)}; ` +
            limitNote(work.fwd, seqS, seqCpuS),
        });
        rows.push({
          group: "runtime",
          name: `rnn decode (logits every token) ${tag}`,
          value: rnnTokS,
          unit: "tok/s",
          note:
            `${note(rnnTokS, typeof py === "string" ? undefined : py.rnn_tok_s, true)}; ` +
            (shares
              ? `median of ${RNN_RUNS} runs (${rnnRuns.map((r) => r.tokS.toFixed(0)).join(", ")} tok/s); ` +
                `${Math.round(100 * median(shares))}% of the memory floor, the median of the runs' shares ` +
                `(${shares.map((x) => Math.round(100 * x)).join(", ")}%), each against ` +
                `${(tokenBytes / 1e6).toFixed(0)} MB per token at the higher of the read rates ` +
                `(${readLoads} loads) just before and after it: ` +
                `${reads.map((r) => r!.toFixed(1)).join(" / ")} GB/s`
              : "memory floor n/a"),
        });
        rows.push({
          group: "runtime",
          name: `tune step ctx ${SEQ} bsz 1 ${tag}`,
          value: stepS,
          unit: "s",
          note:
            `${note(stepS, typeof py === "string" ? undefined : py.tune_step_s, false)}; ` +
            limitNote(work.step, stepS, stepCpuS) +
            fmaCeilingNote(work.step, typeof py === "string" ? undefined : py.tune_step_s),
        });
        rows.push({
          group: "stages",
          name: `tune step by stage, fp32 compute, ${tag}`,
          value: stepCpuS,
          unit: "CPU-s",
          note: stageNote(fp32Step.stages),
        });
        if (dtype === "bf16" && native().info().bf16Compute)
          rows.push(...(await bf16ComputeRows(file, tokens, tag, model)));
        if (dtype === "bf16" && native().info().cpu.features.includes("avx2"))
          rows.push(...(await avx2Rows(model, file, tokens, tag, work.gemm, lim)));
        rows.push({
          group: "runtime",
          name: `peak RSS of a process that loads the model and runs one tuning step ${tag}`,
          value: rssMb,
          unit: "MB",
          note: typeof py === "string" ? py : `PyTorch peak RSS ${py.peak_rss_mb.toFixed(0)} MB`,
        });
        if (typeof py !== "string") {
          rows.push({
            group: "pytorch",
            name: `seq ${SEQ} ${tag}`,
            value: SEQ / py.seq_s,
            unit: "tok/s",
            note: `torch ${py.torch}, chunked WKV`,
          });
          rows.push({ group: "pytorch", name: `T=1 decode ${tag}`, value: py.rnn_tok_s, unit: "tok/s" });
          rows.push({
            group: "pytorch",
            name: `tune step ctx ${SEQ} ${tag}`,
            value: py.tune_step_s,
            unit: "s",
            note: "autograd to s0 + clip + Adam",
          });
        }
      } finally {
        model.dispose();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (require.main === module)
  runRuntimeBench().then(
    (r) => console.table(r),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
