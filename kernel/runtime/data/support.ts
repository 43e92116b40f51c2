// What a binidx supports for state tuning at a given micro_bsz (printed by make-data): how many
// steps fit in an epoch for each sampler and after how many steps the data starts repeating.

export interface DataShape {
  documents: number;
  items: number;
  tokens: number;
  ctxLen: number;
  magicPrime: number | null;
}

export interface StateTuningSupport {
  microBsz: number;
  /** pad sampler: one item per sample; epoch_steps·micro_bsz ≤ items. */
  pad: { maxEpochSteps: number; stepsBeforeRepeat: number };
  /** random offsets: steps that read about every token once. */
  random: { stepsPerPass: number };
  /** magic prime: p samples visit every ctx_len slot once. */
  magicPrime: { prime: number; stepsPerPass: number } | null;
}

export function stateTuningSupport(d: DataShape, microBsz: number): StateTuningSupport {
  return {
    microBsz,
    pad: { maxEpochSteps: Math.floor(d.items / microBsz), stepsBeforeRepeat: Math.floor(d.documents / microBsz) },
    random: { stepsPerPass: Math.floor(d.tokens / (d.ctxLen * microBsz)) },
    magicPrime:
      d.magicPrime === null ? null : { prime: d.magicPrime, stepsPerPass: Math.floor(d.magicPrime / microBsz) },
  };
}

export function describeSupport(d: DataShape, s: StateTuningSupport): string[] {
  const n = (x: number): string => x.toLocaleString("en-US");
  const lines = [
    `state tuning with micro_bsz ${s.microBsz}, ctx_len ${d.ctxLen} (each sample ${d.ctxLen + 1} tokens):`,
    `  pad sampler (PEFT --dataload pad): epoch_steps ≤ ${n(s.pad.maxEpochSteps)} ` +
      `(one of the ${n(d.items)} items per sample); ` +
      `a document repeats after ${n(s.pad.stepsBeforeRepeat)} steps (${n(d.documents)} distinct documents)`,
    `  random sampler: ${n(s.random.stepsPerPass)} steps read about every token once`,
  ];
  lines.push(
    s.magicPrime
      ? `  magic-prime sampler: ${n(s.magicPrime.prime)} samples = ` +
          `${n(s.magicPrime.stepsPerPass)} steps per pass before slots repeat`
      : `  magic-prime sampler: not available (needs at least 3·ctx_len = ${n(3 * d.ctxLen)} tokens)`,
  );
  return lines;
}
