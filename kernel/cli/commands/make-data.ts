// `rwkv-nb make-data`: jsonl → binidx, RWKV-LM make_data.py semantics plus a seed, skipping of
// bad lines, a progress bar and a report of what the data supports for state tuning.
import { defineCommand, numberArg, tokenizerArgs, TOKENIZER_OPTIONS } from "../command";
import { makeData } from "../../runtime/data/make-data";
import { TerminalProgress } from "../../runtime/data/progress";
import { describeSupport, stateTuningSupport } from "../../runtime/data/support";

const usage = `usage: rwkv-nb make-data <input.jsonl> <repeat> <ctx_len> [--out <prefix>] [--model <m.pth>]
                         [--vocab <file>] [--tokenizer world|bytes] [--seed S] [--skip-bad] [--micro-bsz M]
                         [--workers N] [--format text|chat] [--fields <prompt>,<response>]

Takes the "text" field of each jsonl line, tokenizes it (with --model, that model's tokenizer;
else World; the World vocab from --vocab, $RWKV_VOCAB or beside --model), appends token 0,
repeats the documents <repeat> times with a seeded shuffle per copy and writes <prefix>.bin
(uint16) + <prefix>.idx (default prefix: the input's name in the current folder; a missing
folder is created). <ctx_len> sets the magic prime and the minimum data size.
--format chat also takes chat lines: {"query": …, "response": …} (names set by --fields, default
query,response) and {"messages": [{"role": "system"|"user"|"assistant", "content": …}]}, rendered as
"User: …\n\nAssistant: …\n\n" (system: "System: …"), and writes <prefix>.mask: which tokens are the
assistant's answers, the only ones the tuner's loss counts (lossMask "response").
--skip-bad skips lines that are not JSON or lack a string "text" (counted) instead of stopping.
--micro-bsz (default 1) sizes the state-tuning report.`;

const int = (name: string, v: string, min: number): number => numberArg(name, v, { integer: true, min })!;

export const command = defineCommand({
  name: "make-data",
  summary: "jsonl → binidx training data (make_data.py compatible)",
  usage,
  options: {
    ...TOKENIZER_OPTIONS,
    model: { type: "string" },
    out: { type: "string" },
    seed: { type: "string", default: "0" },
    "skip-bad": { type: "boolean", default: false },
    "micro-bsz": { type: "string", default: "1" },
    workers: { type: "string" },
    format: { type: "string", default: "text" },
    fields: { type: "string" },
  },
  async run({ values, positionals }) {
    if (positionals.length !== 3) throw new Error(`expected <input.jsonl> <repeat> <ctx_len>\n\n${usage}`);
    const [input, repeatArg, ctxArg] = positionals;
    const tokenizer = tokenizerArgs(values, values.model);
    const microBsz = int("--micro-bsz", values["micro-bsz"], 1);
    const format = values.format;
    if (format !== "text" && format !== "chat") throw new Error(`--format must be text or chat, got '${format}'`);
    const fields = values.fields?.split(",").map((f) => f.trim());
    if (fields && (fields.length !== 2 || format !== "chat"))
      throw new Error(`--fields takes two names, <prompt>,<response>, with --format chat; got '${values.fields}'`);

    const bar = new TerminalProgress();
    const abort = new AbortController();
    const onSigint = (): void => abort.abort();
    process.once("SIGINT", onSigint);
    let r;
    try {
      r = await makeData({
        input,
        repeat: int("repeat", repeatArg, 1),
        ctxLen: int("ctx_len", ctxArg, 1),
        out: values.out,
        tokenizer,
        seed: int("--seed", values.seed, 0),
        skipBad: values["skip-bad"],
        format,
        fields: fields as [string, string] | undefined,
        workers: numberArg("--workers", values.workers, { integer: true, min: 1 }),
        onProgress: (p) => bar.update(p),
        signal: abort.signal,
      });
    } catch (e) {
      if (abort.signal.aborted)
        throw new Error("interrupted: nothing written, previous outputs left as they were", { cause: e });
      throw e;
    } finally {
      bar.end();
      process.off("SIGINT", onSigint);
    }
    const n = (x: number): string => x.toLocaleString("en-US");
    const skipped = r.skipped ? `, ${n(r.skipped)} bad lines skipped` : "";
    console.log(`${r.input}: ${n(r.lines)} lines, ${n(r.documents)} documents${skipped}`);
    for (const b of r.skippedLines.slice(0, 5)) console.log(`  skipped ${b.message}`);
    console.log(
      `tokens: ${n(r.tokensPerCopy)} per copy × ${r.repeat} = ${n(r.tokens)} in ${n(r.items)} items (uint16)`,
    );
    const files = r.maskFile ? `${r.binFile}, ${r.idxFile} and ${r.maskFile}` : `${r.binFile} and ${r.idxFile}`;
    console.log(`wrote ${files} in ${r.seconds.toFixed(1)} s (tokenized ${r.tokenizeMBps.toFixed(1)} MB/s)`);
    if (r.maskFile) {
      const share = ((100 * r.countedTokens) / r.tokens).toFixed(1);
      console.log(`loss mask: ${n(r.countedTokens)} of ${n(r.tokens)} tokens (${share}%) are answers that count`);
    }
    if (r.magicPrime !== null) {
      console.log(`magic_prime = ${r.magicPrime} (for ctxlen ${r.ctxLen})`);
      console.log(`--my_exit_tokens ${r.tokens} --magic_prime ${r.magicPrime} --ctx_len ${r.ctxLen}`);
    } else console.log(`no magic prime: fewer than 3·ctx_len = ${3 * r.ctxLen} tokens`);
    for (const line of describeSupport(r, stateTuningSupport(r, microBsz))) console.log(line);
    return 0;
  },
});
