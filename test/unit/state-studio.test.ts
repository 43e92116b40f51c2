// The state studio's side-by-side tools on the demo model: compareStates on three states (a State
// and the same tuned state as .pth and safetensors files), its rich display, the errors for a file
// of another RWKV version or base model, the state algebra, and sweeps along a dial, a line, a path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  Dataset,
  Model,
  State,
  StateFileError,
  Tuner,
  compareStates,
  plot,
  sweepStates,
  toBundle,
  type StateComparison,
} from "../../kernel";
import { showsPirateStyle, tutorialSetup } from "../../kernel/tutorial";
import { goldenModelSkip } from "../helpers/golden-model";
import { jsonlTexts } from "../helpers/texts";

const skip = goldenModelSkip();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-studio-"));
const setup = tutorialSetup({});
const texts = jsonlTexts;

let model: Model;
let tuned: State;
const files = { pth: path.join(tmp, "tuned.pth"), st: path.join(tmp, "tuned.safetensors") };

test.before(async () => {
  if (skip) return;
  model = await Model.load(setup.modelPath);
  const tuner = new Tuner(model, Dataset.fromTexts(texts(setup.dataPath), model.tokenizer), {
    ctxLen: 48,
    microBsz: 4,
    totalSteps: 24,
    seed: 1,
  });
  await tuner.run({ live: false });
  tuned = tuner.state;
  await tuner.saveState(files.pth);
  await tuner.saveState(files.st);
});
test.after(() => {
  model?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test(
  "compareStates on three states: loss table, replies with one seed, distances per layer, rich display",
  { skip },
  async () => {
    const prompts = setup.prompts.slice(0, 2);
    const c: StateComparison = await compareStates(
      model,
      { untuned: model.newState(), pth: files.pth, safetensors: files.st },
      { data: setup.evalPath, prompts, samples: 24, seed: 7 },
    );
    assert.deepEqual(c.names, ["untuned", "pth", "safetensors"]);
    assert.deepEqual(c.sources, ["State", files.pth, files.st]);
    const [zero, pth, st] = c.losses!;
    assert.ok(pth.loss < 0.5 * zero.loss, `tuned ${pth.loss} vs untuned ${zero.loss}`);
    assert.equal(pth.loss, st.loss, "the same bf16 state from .pth and safetensors");
    assert.ok(Math.abs(pth.loss - (await lossOf(tuned))) < 0.01, "the file's loss is far from the State's");
    assert.equal(c.best, "pth");
    assert.equal(c.heldOut!.docs, 24);

    assert.equal(c.generations.length, 2);
    for (const g of c.generations) {
      assert.equal(g.replies.length, 3);
      assert.ok(!showsPirateStyle(g.replies[0]), `untuned: ${g.replies[0]}`);
      assert.ok(showsPirateStyle(g.replies[1]), `tuned: ${g.replies[1]}`);
      assert.equal(g.replies[1], g.replies[2], "same state, same seed: same reply");
    }
    const again = await compareStates(model, { untuned: model.newState() }, { prompts, seed: 7 });
    assert.deepEqual(
      again.generations.map((g) => g.replies[0]),
      c.generations.map((g) => g.replies[0]),
      "replies are not repeatable with a seed",
    );

    assert.equal(c.distances.length, model.config.nLayer);
    const per = model.config.nHead * model.config.headSize ** 2;
    c.distances.forEach((d, l) => {
      for (let i = 0; i < 3; i++) {
        assert.equal(d[i][i], 0);
        for (let j = 0; j < 3; j++) assert.equal(d[i][j], d[j][i]);
      }
      assert.equal(d[1][2], 0);
      const norm = Math.hypot(...c.states[1].wkv.subarray(l * per, (l + 1) * per));
      assert.ok(Math.abs(d[0][1] - norm) < 1e-3 * norm, `layer ${l}: distance to zero ${d[0][1]} vs norm ${norm}`);
    });

    const b = toBundle(c);
    const html = b["text/html"] as string;
    for (const want of [
      "held-out loss on 24 documents",
      "untuned",
      "safetensors",
      "replies with the same seed",
      "rwkv-plot",
    ])
      assert.ok(html.includes(want), `the display lacks ${want}`);
    assert.ok(!("application/vnd.plotly.v1+json" in b), "a plotly-only renderer would hide the tables");
    assert.match(b["text/plain"] as string, /pth: held-out loss 0\.\d+/);
    const fig = plot.stateDistances(c).toJSON();
    assert.equal(fig.data.length, model.config.nLayer);
    assert.equal((fig.layout.coloraxis as { cmin: number }).cmin, 0);
  },
);

async function lossOf(s: State): Promise<number> {
  const c = await compareStates(model, { s }, { data: setup.evalPath, samples: 24 });
  return c.losses![0].loss;
}

test(
  "a state file of another RWKV version, model shape or base checkpoint is refused naming the file and why",
  { skip },
  async () => {
    const v6 = path.join(tmp, "v6.safetensors");
    await tuned.save(v6, { provenance: { model_version: "x060" } });
    const other = path.join(tmp, "other-base.safetensors");
    await tuned.save(other, { provenance: { model_version: "x070", base_sha256: "ab".repeat(32) } });
    const wide = path.join(tmp, "wide.safetensors");
    await tuned.save(wide, { provenance: { dims: "L4 C256 H4 N64 V257" } });
    const expect = async (file: string, why: RegExp) => {
      const e = await compareStates(model, { x: file }).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(e instanceof StateFileError, `${file}: ${String(e)}`);
      assert.equal(e.file, file);
      assert.ok(e.message.includes(file), e.message);
      assert.match(e.message, why);
    };
    await expect(v6, /tuned for RWKV-6 \(x060\); this model is RWKV-7 \(x070\)/);
    await expect(
      other,
      /tuned on another base model: its base_sha256 is abababababab…, demo-model\.pth is [0-9a-f]{12}…/,
    );
    await expect(wide, /tuned for a model of L4 C256 H4 N64 V257; this model is L4 C128 H2 N64/);
    await expect(path.join(tmp, "missing.pth"), /does not exist/);
    // Its own files pass: the provenance Tuner.saveState wrote names this model.
    await compareStates(model, { own: files.st });
  },
);

test(
  "CLI: rwkv-nb compare prints losses, distances and replies (--json), and refuses another version's file",
  { skip },
  async () => {
    const cli = path.resolve(__dirname, "..", "..", "..", "bin", "rwkv-nb.js");
    const env = { ...process.env };
    delete env.RWKV_MODEL;
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cli, "compare", ...args], { encoding: "utf8", env });
    const r = run(
      files.pth,
      files.st,
      "--model",
      setup.modelPath,
      "--data",
      setup.evalPath,
      "--baseline",
      "--samples",
      "8",
      "--prompt",
      "User: hello!\\n\\nAssistant:",
      "--max-tokens",
      "30",
      "--json",
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      names: string[];
      losses: { loss: number }[];
      generations: { prompt: string; replies: string[] }[];
      distances: number[][][];
    };
    assert.deepEqual(out.names, ["baseline", files.pth, files.st]);
    assert.ok(out.losses[1].loss < out.losses[0].loss);
    assert.equal(out.generations[0].prompt, "User: hello!\n\nAssistant:");
    assert.ok(showsPirateStyle(out.generations[0].replies[1]), out.generations[0].replies[1]);
    assert.equal(out.distances.length, model.config.nLayer);
    const text = run(files.pth, "--model", setup.modelPath, "--data", setup.evalPath, "--samples", "4");
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /held-out loss \(4 documents, \d+ tokens\):/);
    const v6 = path.join(tmp, "cli-v6.safetensors");
    await tuned.save(v6, { provenance: { model_version: "x060" } });
    const bad = run(v6, "--model", setup.modelPath, "--data", setup.evalPath);
    assert.equal(bad.status, 1);
    assert.ok(bad.stderr.includes(v6) && /RWKV-6/.test(bad.stderr), bad.stderr);
    assert.equal(run(files.pth, "--data", setup.evalPath).status, 2, "no model: usage");
  },
);

test("State.lerp, scale and mix: every part, float64 sums, checked shapes and weights", () => {
  const dims = { nLayer: 2, nEmbd: 8, nHead: 2, headSize: 4 };
  const fill = (f: (i: number) => number) =>
    new State(dims, {
      attX: Float32Array.from({ length: 16 }, (_, i) => f(i)),
      wkv: Float32Array.from({ length: 64 }, (_, i) => f(i + 1)),
      ffnX: Float32Array.from({ length: 16 }, (_, i) => f(i) - 5),
    });
  const a = fill((i) => i / 10),
    b = fill((i) => 1 - i / 7);
  assert.deepEqual(State.lerp(a, b, 0), a);
  assert.deepEqual(State.lerp(a, b, 1), b);
  const mid = State.lerp(a, b, 0.5);
  for (const k of ["attX", "wkv", "ffnX"] as const)
    mid[k].forEach((x, i) => assert.equal(x, Math.fround((a[k][i] + b[k][i]) / 2)));
  assert.ok(State.scale(a, 0).wkv.every((x) => x === 0));
  assert.deepEqual(
    State.scale(a, 2).ffnX,
    a.ffnX.map((x) => 2 * x),
  );
  assert.deepEqual(State.mix([a, b]), mid);
  assert.deepEqual(
    State.mix([a, b, a], [1, -1, 1]).wkv,
    a.wkv.map((x, i) => Math.fround(2 * x - b.wkv[i])),
  );
  assert.throws(() => State.lerp(a, b, NaN), /t must be a finite number/);
  assert.throws(() => State.mix([a, b], [1]), /2 states need 2 weights/);
  assert.throws(() => State.mix([]), /non-empty array of States/);
  const small = new State({ nLayer: 1, nEmbd: 8, nHead: 2, headSize: 4 });
  assert.throws(() => State.mix([a, small]), /states of L2 C8 H2 N4 and L1 C8 H2 N4 cannot mix/);
});

test(
  "sweeps: an alpha dial, the line between two states, a path through three; scores and replies",
  { skip },
  async () => {
    const zero = model.newState();
    const dial = await sweepStates(model, files.st, { data: setup.evalPath, samples: 16, points: [0, 1] });
    assert.equal(dial.kind, "dial");
    assert.deepEqual(dial.names, ["tuned.safetensors"]);
    const direct = await compareStates(model, { zero, file: files.st }, { data: setup.evalPath, samples: 16 });
    assert.deepEqual(
      dial.losses,
      direct.losses!.map((l) => l.loss),
    );

    const seen: number[] = [];
    const line = await sweepStates(
      model,
      { untuned: zero, tuned },
      {
        points: [0, 0.5, 1],
        score: (s, x) => {
          seen.push(x);
          return Math.hypot(...s.wkv);
        },
        scoreName: "‖S‖",
        prompts: setup.prompts.slice(0, 1),
        at: [0, 1],
        maxTokens: 30,
      },
    );
    assert.equal(line.kind, "interpolation");
    assert.deepEqual(seen, [0, 0.5, 1]);
    const n = Math.hypot(...tuned.wkv);
    assert.ok(Math.abs(line.scores![1] - n / 2) < 1e-3 * n && Math.abs(line.scores![2] - n) < 1e-3 * n);
    assert.equal(line.losses, undefined);
    assert.deepEqual(
      line.generations.map((g) => g.x),
      [0, 1],
    );
    assert.ok(!showsPirateStyle(line.generations[0].replies[0].reply));
    assert.ok(showsPirateStyle(line.generations[1].replies[0].reply));

    const route = await sweepStates(model, [zero, tuned, State.scale(tuned, 2)], { score: (s) => s.wkv[0] });
    assert.equal(route.kind, "path");
    assert.deepEqual(
      route.xs,
      Array.from({ length: 21 }, (_, i) => Number((i / 10).toFixed(10))),
    );
    assert.ok(Math.abs(route.scores![20] - 2 * tuned.wkv[0]) < 1e-5);

    const fig = (await plot.sweep(model, files.st, { data: setup.evalPath, samples: 8, points: [0, 1] })).toJSON();
    assert.equal(fig.data[0].name, "held-out loss (8 documents)");
    assert.match(
      (fig.layout.xaxis as { title: { text: string } }).title.text,
      /alpha: tuned\.safetensors scaled by alpha/,
    );
    await assert.rejects(sweepStates(model, [], {}), /at least one state/);
    await assert.rejects(sweepStates(model, tuned, { pionts: [1] } as never), /did you mean points/);
  },
);
