// `rwkv-nb tune`: state tuning on binidx data, with a progress line, a JSONL log of every step (and
// its validation), periodic saves, resume, early stop, and Ctrl-C that finishes cleanly (state +
// checkpoint saved).
import * as fs from "node:fs";
import { defineCommand, numberArg, MODEL_OPTIONS, MODEL_USAGE, modelArgs } from "../command";
import { BinIdxDataset } from "../../runtime/data/binidx";
import { formatDuration } from "../../runtime/data/progress";
import { Model } from "../../runtime/model/model";
import { State } from "../../runtime/model/state";
import { parseLayers } from "../../runtime/tune/layers";
import { Tuner } from "../../runtime/tune/tuner";
import type { StepRecord, TunerOptions } from "../../runtime/tune/types";
import { checkWritableFolder } from "../../runtime/files";

const usage = `usage: rwkv-nb tune <model> --data <binidx prefix> --out <state.pth> [--ctx-len 512] [--micro-bsz 1]
                   [--steps N | --epoch-steps N --epoch-count M] [--lr-init 1] [--lr-final 0.01] [--warmup-steps 0]
                   [--lr-schedule cos|exp] [--sampler pad|random|magic-prime] [--magic-prime P] [--seed 0]
                   [--padding trim|peft]
                   [--grad-clip 1] [--save-every N] [--resume <ckpt>] [--log <steps.jsonl>]
                   [--accumulate K] [--chunk-len 512] [--layers 8-11] [--loss-mask none|response]
                   [--validation <binidx prefix> [--val-every 10] [--val-samples 16] [--keep-best]
                    [--stop-loss X] [--patience N [--min-delta D]]] [--init-state <state file> | --init-prompt <text>]
                   ${MODEL_USAGE}

Trains the initial wkv state (RWKV-PEFT state tuning) and writes it to --out (.pth as PEFT, or
.safetensors with provenance). Every step goes to --log (default <out>.jsonl); --save-every N
saves the state and <out>.ckpt every N steps; Ctrl-C stops after the current step and saves both.
--resume <out>.ckpt continues a run exactly (state, Adam moments, schedule, sampler position; give
--validation again if the run had it).
--padding trim (default) skips the positions after a batch's last counted target; peft runs every
sample's full ctx_len as RWKV-PEFT does (same loss; its L2Wrap also touches those positions).
--accumulate K: K micro-batches per step (the loss is the mean over all their counted targets).
--chunk-len: the longest piece a sample is run in (exact chunked BPTT; memory stays flat in --ctx-len).
--layers 8-11 (or 0,3,8-11, or top3): train those layers' states only; the others stay as they
start and are saved with them. --loss-mask response (the default for data made with make-data
--format chat): only the answers count. --validation: held-out loss every --val-every steps, in
the log as "validationLoss"; --keep-best writes the state with the lowest held-out loss to --out;
--stop-loss X stops once the held-out loss (without --validation: the training loss) is ≤ X;
--patience N stops after N validations without a new best (better by more than --min-delta).
--init-prompt <text> starts from the state the model reaches after reading the text (its wkv, zero
shifts); --init-state from a state file.`;

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
    padding: { type: "string" },
    "magic-prime": { type: "string" },
    seed: { type: "string" },
    "grad-clip": { type: "string" },
    "save-every": { type: "string" },
    resume: { type: "string" },
    log: { type: "string" },
    ...MODEL_OPTIONS,
    accumulate: { type: "string" },
    "chunk-len": { type: "string" },
    layers: { type: "string" },
    "loss-mask": { type: "string" },
    validation: { type: "string" },
    "val-every": { type: "string" },
    "val-samples": { type: "string" },
    "keep-best": { type: "boolean", default: false },
    "stop-loss": { type: "string" },
    patience: { type: "string" },
    "min-delta": { type: "string" },
    "init-state": { type: "string" },
    "init-prompt": { type: "string" },
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

    if (values["init-state"] && values["init-prompt"]) throw new Error("give --init-state or --init-prompt, not both");
    const data = BinIdxDataset.open(values.data);
    const validation = values.validation
      ? {
          dataset: BinIdxDataset.open(values.validation),
          every: intOpt("val-every", values["val-every"]),
          samples: intOpt("val-samples", values["val-samples"]),
        }
      : undefined;
    const stopLoss = numOpt("stop-loss", values["stop-loss"]),
      patience = intOpt("patience", values.patience),
      minDelta = numOpt("min-delta", values["min-delta"]);
    const model = await Model.load(positionals[0], modelArgs(values));
    try {
      const initState = values["init-state"]
        ? await State.fromStateFile(model, values["init-state"])
        : values["init-prompt"] !== undefined
          ? "prompt"
          : undefined;
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
        padding: values.padding as TunerOptions["padding"] | undefined,
        magicPrime: intOpt("magic-prime", values["magic-prime"]),
        seed: intOpt("seed", values.seed),
        gradClip: numOpt("grad-clip", values["grad-clip"]),
        accumulate: intOpt("accumulate", values.accumulate),
        chunkLen: intOpt("chunk-len", values["chunk-len"]),
        layers: values.layers === undefined ? undefined : parseLayers(values.layers, model.config.nLayer),
        lossMask: values["loss-mask"] as TunerOptions["lossMask"] | undefined,
        validation,
        keepBest: values["keep-best"] || undefined,
        stopWhen: stopLoss === undefined && patience === undefined ? undefined : { loss: stopLoss, patience, minDelta },
        initState,
        initPrompt: values["init-prompt"],
      };
      const tuner = values.resume
        ? await Tuner.resume(values.resume, model, data, { validation })
        : await new Tuner(model, data, opts).ready;
      const total = tuner.options.totalSteps;
      const log = fs.createWriteStream(logPath, { flags: values.resume ? "a" : "w" });
      const ac = new AbortController();
      const onSigint = () => {
        process.stderr.write("\ninterrupted: finishing the current step, then saving\n");
        ac.abort();
      };
      process.once("SIGINT", onSigint);
      const save = async () => {
        await tuner.saveState(out, { best: tuner.options.keepBest && tuner.best !== undefined });
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
        const val = r.validationLoss === undefined ? "" : `  held-out ${r.validationLoss.toFixed(4)}`;
        const line = `step ${r.step}/${total}  loss ${r.loss.toFixed(4)}${val}  lr ${lr}  ${tps} tok/s  ETA ${eta}`;
        process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
        if (r.stopped) process.stderr.write(`${tty ? "\n" : ""}stopping early: ${r.stopped}\n`);
      };
      try {
        while (tuner.steps < total && !ac.signal.aborted && !tuner.stopped) {
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
          best: tuner.best ? { step: tuner.best.step, validationLoss: tuner.best.loss } : null,
          saved: tuner.options.keepBest && tuner.best ? "best" : "last",
          stopped: tuner.stopped?.reason ?? null,
          interrupted: ac.signal.aborted,
        }),
      );
      return ac.signal.aborted ? 130 : 0;
    } finally {
      model.dispose();
    }
  },
});
