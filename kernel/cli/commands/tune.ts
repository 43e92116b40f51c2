// `rwkv-nb tune`: state tuning on binidx data, with a progress line, a JSONL log of every step,
// periodic saves, resume, and Ctrl-C that finishes cleanly (state + checkpoint saved).
import * as fs from "node:fs";
import { defineCommand, numberArg, MODEL_OPTIONS, MODEL_USAGE, modelArgs } from "../command";
import { BinIdxDataset } from "../../runtime/data/binidx";
import { formatDuration } from "../../runtime/data/progress";
import { Model } from "../../runtime/model/model";
import { Tuner } from "../../runtime/tune/tuner";
import type { StepRecord, TunerOptions } from "../../runtime/tune/types";
import { checkWritableFolder } from "../../runtime/files";

const usage = `usage: rwkv-nb tune <model> --data <binidx prefix> --out <state.pth> [--ctx-len 512] [--micro-bsz 1]
                   [--steps N | --epoch-steps N --epoch-count M] [--lr-init 1] [--lr-final 0.01] [--warmup-steps 0]
                   [--lr-schedule cos|exp] [--sampler pad|random|magic-prime] [--magic-prime P] [--seed 0]
                   [--grad-clip 1] [--save-every N] [--resume <ckpt>] [--log <steps.jsonl>]
                   ${MODEL_USAGE}

Trains the initial wkv state (RWKV-PEFT state tuning) and writes it to --out (.pth as PEFT, or
.safetensors with provenance). Every step goes to --log (default <out>.jsonl); --save-every N
saves the state and <out>.ckpt every N steps; Ctrl-C stops after the current step and saves both.
--resume <out>.ckpt continues a run exactly (state, Adam moments, schedule, sampler position).`;

const intOpt = (name: string, v: string | undefined): number | undefined =>
  numberArg(`--${name}`, v, { integer: true });
const numOpt = (name: string, v: string | undefined): number | undefined => numberArg(`--${name}`, v);

export const command = defineCommand({
  name: "tune",
  summary: "state tuning on binidx data",
  usage,
  options: {
    data: { type: "string" },
    out: { type: "string" },
    "ctx-len": { type: "string" },
    "micro-bsz": { type: "string" },
    steps: { type: "string" },
    "epoch-steps": { type: "string" },
    "epoch-count": { type: "string" },
    "lr-init": { type: "string" },
    "lr-final": { type: "string" },
    "warmup-steps": { type: "string" },
    "lr-schedule": { type: "string" },
    sampler: { type: "string" },
    "magic-prime": { type: "string" },
    seed: { type: "string" },
    "grad-clip": { type: "string" },
    "save-every": { type: "string" },
    resume: { type: "string" },
    log: { type: "string" },
    ...MODEL_OPTIONS,
  },
  async run({ values, positionals }) {
    if (positionals.length !== 1 || !values.data || !values.out) {
      console.error(usage);
      return 2;
    }
    const out = values.out;
    checkWritableFolder(out);
    const ckptPath = `${out}.ckpt`,
      logPath = values.log ?? `${out}.jsonl`;
    const epochSteps = intOpt("epoch-steps", values["epoch-steps"]),
      epochCount = intOpt("epoch-count", values["epoch-count"]);
    let totalSteps = intOpt("steps", values.steps);
    if (totalSteps === undefined) {
      if (epochSteps === undefined || epochCount === undefined)
        throw new Error("give --steps N, or --epoch-steps N with --epoch-count M");
      totalSteps = epochSteps * epochCount;
    }
    const saveEvery = intOpt("save-every", values["save-every"]) ?? 0;
    if (saveEvery < 0) throw new Error(`--save-every must be ≥ 0, got ${saveEvery}`);

    const data = BinIdxDataset.open(values.data);
    const model = await Model.load(positionals[0], modelArgs(values));
    try {
      const opts: Partial<TunerOptions> & { totalSteps: number } = {
        totalSteps,
        epochSteps,
        ctxLen: intOpt("ctx-len", values["ctx-len"]),
        microBsz: intOpt("micro-bsz", values["micro-bsz"]),
        lrInit: numOpt("lr-init", values["lr-init"]),
        lrFinal: numOpt("lr-final", values["lr-final"]),
        warmupSteps: intOpt("warmup-steps", values["warmup-steps"]),
        lrSchedule: values["lr-schedule"] as TunerOptions["lrSchedule"] | undefined,
        sampler: values.sampler as TunerOptions["sampler"] | undefined,
        magicPrime: intOpt("magic-prime", values["magic-prime"]),
        seed: intOpt("seed", values.seed),
        gradClip: numOpt("grad-clip", values["grad-clip"]),
      };
      const tuner = values.resume ? await Tuner.resume(values.resume, model, data) : new Tuner(model, data, opts);
      const total = tuner.options.totalSteps;
      const log = fs.createWriteStream(logPath, { flags: values.resume ? "a" : "w" });
      const ac = new AbortController();
      const onSigint = () => {
        process.stderr.write("\ninterrupted: finishing the current step, then saving\n");
        ac.abort();
      };
      process.once("SIGINT", onSigint);
      const save = async () => {
        await tuner.saveState(out);
        await tuner.saveCheckpoint(ckptPath);
      };
      const t0 = performance.now(),
        startStep = tuner.steps;
      const tty = process.stderr.isTTY;
      const onStep = (r: StepRecord) => {
        log.write(JSON.stringify(r) + "\n");
        const perStep = (performance.now() - t0) / 1000 / (r.step - startStep);
        const eta = formatDuration(perStep * (total - r.step));
        const tps = Math.round(r.tokensPerSecond),
          lr = r.lr.toExponential(3);
        const line = `step ${r.step}/${total}  loss ${r.loss.toFixed(4)}  lr ${lr}  ${tps} tok/s  ETA ${eta}`;
        process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      };
      try {
        while (tuner.steps < total && !ac.signal.aborted) {
          const chunk =
            saveEvery > 0 ? Math.min(saveEvery - (tuner.steps % saveEvery), total - tuner.steps) : total - tuner.steps;
          await tuner.run({ steps: chunk, onStep, signal: ac.signal, live: false });
          if (saveEvery > 0 && tuner.steps % saveEvery === 0 && tuner.steps < total) await save();
        }
        await save();
      } finally {
        process.off("SIGINT", onSigint);
        await new Promise<void>((res) => log.end(res));
      }
      if (tty) process.stderr.write("\n");
      const last = tuner.history[tuner.history.length - 1];
      console.log(
        JSON.stringify({
          out,
          checkpoint: ckptPath,
          log: logPath,
          steps: tuner.steps,
          loss: last?.loss ?? null,
          interrupted: ac.signal.aborted,
        }),
      );
      return ac.signal.aborted ? 130 : 0;
    } finally {
      model.dispose();
    }
  },
});
