// The display layer outside a kernel: bundles, figures that stand alone (static SVG + loader, no
// plotly.js inside), the training figure, state and next-token figures, live views.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inflateSync } from "node:zlib";
import { displaySymbol, toBundle } from "../../kernel/display/bundle";
import { cellContext } from "../../kernel/display/context";
import {
  Figure,
  inlinePlotly,
  PLOTLY_KERNELSPEC,
  PLOTLY_RESOURCE,
  plotlyLibraryFile,
  STATIC_HINT,
} from "../../kernel/display/plotly";
import { figureSvg } from "../../kernel/display/static-svg";
import { encodePng } from "../../kernel/display/png";
import { liveView } from "../../kernel/display/live";
import { StepRecord, smoothed, trainingFigure, trainingTitle } from "../../kernel/display/figures/training";
import { stateDiff, stateHeatmap, stateNorms } from "../../kernel/display/figures/state";
import { nextTokenFigure, trajectoryFigure } from "../../kernel/display/figures/inspect";
import { tableView } from "../../kernel/display/table";
import { installKernelspec, KERNEL_NAME } from "../../kernel/jupyter/install";
import { StepHistory, TuningRun } from "../../kernel/runtime/tune/run-summary";
import type { NextTokenComparison } from "../../kernel/runtime/inspect/next-token";

const html = (f: Figure) => String(f[displaySymbol]()["text/html"]);
/** The static picture inside a figure's HTML, decoded. */
function staticSvg(f: Figure): string {
  const m = /src="data:image\/svg\+xml;base64,([^"]+)"/.exec(html(f));
  assert.ok(m, "the figure's HTML has a static SVG picture");
  return Buffer.from(m[1], "base64").toString("utf8");
}

test("toBundle uses the display protocol, else inspect text", () => {
  assert.deepEqual(toBundle({ [displaySymbol]: () => ({ "text/html": "<i>x</i>" }) })["text/html"], "<i>x</i>");
  assert.deepEqual(toBundle({ a: [1, 2] }), { "text/plain": "{ a: [ 1, 2 ] }" });
  assert.throws(() => toBundle({ [displaySymbol]: () => null }), /must return a MIME bundle/);
});

test("a figure stands alone: plotly JSON, a static SVG with a hint, a loader, no plotly.js inside", () => {
  const f = new Figure([{ type: "scatter", x: [1, 2], y: [2, 3], name: "s" }], { title: "t" });
  const b = f[displaySymbol]();
  assert.deepEqual((b["application/vnd.plotly.v1+json"] as { layout: unknown }).layout, { title: { text: "t" } });
  assert.equal(b["text/plain"], "Figure \"t\" [scatter 's']");
  const h = String(b["text/html"]);
  assert.ok(h.length < 20_000, `figure HTML is ${h.length} bytes`);
  assert.doesNotMatch(h, /plotly\.js v\d/, "plotly.js is not inlined");
  assert.match(h, /class="rwkv-plot"/);
  assert.ok(h.includes(STATIC_HINT.replace("→", "→")), "the hint says how to get the interactive figure");
  assert.match(STATIC_HINT, /Trust Notebook.*re-run/);
  // The loader asks the kernelspec for plotly.js, then (from disk) the installed package's copy.
  assert.ok(h.includes(JSON.stringify(PLOTLY_KERNELSPEC)) && h.includes(JSON.stringify(PLOTLY_RESOURCE)));
  assert.match(h, /kernelspecs\//);
  assert.ok(h.includes(JSON.stringify(`file://${plotlyLibraryFile()}`)));
  const svg = staticSvg(f);
  assert.match(svg, /^<svg [^>]*width="760" height="420"/);
  assert.ok(svg.includes(">t</text>") && svg.includes("<polyline "), "the picture has the title and the line");
});

test("the kernelspec serves plotly.js under the name the figures ask for", () => {
  assert.equal(PLOTLY_KERNELSPEC, KERNEL_NAME);
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-spec-"));
  try {
    const dir = installKernelspec({ kind: "prefix", prefix });
    assert.equal(fs.statSync(path.join(dir, PLOTLY_RESOURCE)).size, fs.statSync(plotlyLibraryFile()).size);
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
});

test("inlinePlotly puts plotly.js once into a page with figures, and leaves other pages alone", () => {
  const page = `<html><head><title>x</title></head><body>${html(new Figure([{ x: [1], y: [1] }]))}</body></html>`;
  const once = inlinePlotly(page);
  assert.equal(once.match(/window\.Plotly = Plotly/g)?.length, 1);
  assert.ok(once.indexOf("window.Plotly = Plotly") < once.indexOf("</head>"));
  assert.equal(inlinePlotly(once), once);
  const plain = "<html><head></head><body>no figures</body></html>";
  assert.equal(inlinePlotly(plain), plain);
});

test("figure.save writes HTML (plotly.js inlined), SVG or JSON and names the file on failure", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-fig-"));
  try {
    const f = new Figure([{ x: [1, 2], y: [3, 4] }]);
    f.save(path.join(dir, "f.html"));
    assert.match(fs.readFileSync(path.join(dir, "f.html"), "utf8"), /^<!DOCTYPE html>[\s\S]*Plotly[\s\S]*rwkv-plot/);
    f.save(path.join(dir, "f.svg"));
    assert.match(fs.readFileSync(path.join(dir, "f.svg"), "utf8"), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    f.save(path.join(dir, "f.json"));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "f.json"), "utf8")).data, [{ x: [1, 2], y: [3, 4] }]);
    // A missing folder is created (docs: output folders are created); a file in the way is named.
    f.save(path.join(dir, "missing", "f.html"));
    assert.ok(fs.existsSync(path.join(dir, "missing", "f.html")));
    assert.throws(() => f.save(path.join(dir, "f.json", "f.html")), /cannot save figure to .*f\.json/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("encodePng writes a PNG whose pixels decode back", () => {
  const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]);
  const png = encodePng(2, 2, rgb);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.readUInt32BE(16), 2);
  const idatLen = png.readUInt32BE(33);
  assert.equal(png.subarray(37, 41).toString("latin1"), "IDAT");
  const raw = inflateSync(png.subarray(41, 41 + idatLen));
  assert.deepEqual([...raw], [0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 9, 9, 9]);
  // CRC-32 of "IEND" (no data) is the well-known AE426082.
  assert.equal(png.readUInt32BE(png.length - 4), 0xae426082);
});

test("the static SVG draws every trace type the figures use, with titles, legend and colorbar", () => {
  const svg = figureSvg({
    data: [
      { type: "scatter", mode: "lines", name: "line a", x: [0, 1, 2], y: [1, 3, 2], line: { dash: "dot" } },
      { type: "scatter", mode: "markers", name: "points", x: [0, 2], y: [2, 2] },
      { type: "bar", name: "bars", x: ["a", "b"], y: [1, 2], xaxis: "x2", yaxis: "y2" },
      { type: "bar", name: "more", x: ["a", "b"], y: [2, 1], xaxis: "x2", yaxis: "y2" },
      {
        type: "heatmap",
        z: [
          [0, 1],
          [2, 3],
        ],
        colorbar: { title: { text: "zz" } },
        xaxis: "x3",
        yaxis: "y3",
      },
      { type: "histogram", name: "hist", x: [1, 1, 2, 3], xaxis: "x4", yaxis: "y4" },
      { type: "bar", orientation: "h", name: "h", y: [0, 1], x: [3, 4], xaxis: "x5", yaxis: "y5" },
    ],
    layout: {
      title: { text: "main title<br>second line", subtitle: { text: "what this shows" } },
      barmode: "group",
      xaxis: { domain: [0, 0.18], title: { text: "x title" } },
      xaxis2: { domain: [0.2, 0.38], anchor: "y2" },
      xaxis3: { domain: [0.4, 0.58], anchor: "y3" },
      xaxis4: { domain: [0.6, 0.78], anchor: "y4" },
      xaxis5: { domain: [0.8, 1], anchor: "y5" },
      yaxis: { title: { text: "y &lt;title&gt;" } },
      yaxis2: { anchor: "x2" },
      yaxis3: { anchor: "x3", autorange: "reversed" },
      yaxis4: { anchor: "x4" },
      yaxis5: { anchor: "x5" },
      legend: { orientation: "h" },
      shapes: [{ type: "line", xref: "x", yref: "paper", x0: 1, x1: 1, y0: 0, y1: 1 }],
      annotations: [{ xref: "x", yref: "paper", x: 1, y: 1, text: "note", showarrow: false }],
    },
  });
  for (const s of ["main title", "second line", "what this shows", "x title", "y &lt;title&gt;", "zz", "note"])
    assert.ok(svg.includes(`>${s}</text>`), `the SVG shows "${s}"`);
  assert.equal(svg.match(/<polyline [^>]*stroke-dasharray/g)?.length, 1, "a dotted line");
  assert.equal(svg.match(/<circle /g)?.length, 2, "two markers");
  assert.equal(
    svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="#/g)?.length,
    4 + 2 + 2 + 4,
    "bars: 4 grouped, 2 histogram bins, 2 horizontal, and 4 legend swatches",
  );
  assert.match(svg, /<image [^>]*href="data:image\/png;base64,/);
  assert.match(svg, /<linearGradient/);
  for (const name of ["line a", "points", "bars", "more", "hist", "h"]) assert.ok(svg.includes(`>${name}</text>`));
  assert.ok(svg.includes(">a</text>") && svg.includes(">b</text>"), "category tick labels");
});

test("the static SVG copes with one point, equal values and values equal but for rounding", () => {
  for (const y of [[0.42949869663596624], [0.42949869663596624, 0.4294986966359663], [0, 0], [1e-9, 1e-9]]) {
    const svg = figureSvg({ data: [{ type: "scatter", x: y.map((_, i) => i + 1), y }], layout: {} });
    assert.doesNotMatch(svg, /NaN|Infinity/, JSON.stringify(y));
    assert.ok(svg.length < 20_000, `${svg.length} bytes for ${JSON.stringify(y)}`);
  }
});

const records = (n: number, ms = 1000): StepRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    step: i + 1,
    loss: 4 / (i + 1),
    lr: 1e-3,
    gradNorm: 1,
    tokens: 100,
    tokensPerSecond: 2000,
    elapsedMs: ms,
  }));
const schedule = { totalSteps: 10, lrInit: 1, lrFinal: 0.01, lrSchedule: "cos" as const, warmupSteps: 0 };

test("ETA against a fake clock: this run's wall time per step × the steps left", () => {
  let now = 5000;
  const run = new TuningRun(0, 10, { ...schedule, ctxLen: 128, microBsz: 1 }, () => now);
  assert.equal(run.etaMs, undefined);
  assert.equal(run.progressText(), "step 0/10 · ETA ?");
  const h = records(10);
  now += 1500;
  run.record(h[0]);
  now += 2500; // the second step and its drawing took longer
  run.record(h[1]);
  assert.equal(run.msPerStep, 2000);
  assert.equal(run.etaMs, 16_000);
  assert.equal(trainingTitle(h.slice(0, 2), { run }), "step 2/10 · ETA 16s · loss 2.0000 · 2000 tok/s");
  for (let i = 2; i < 10; i++) {
    now += 1000;
    run.record(h[i]);
  }
  assert.equal(run.etaMs, 0);
  run.finish("finished");
  now += 60_000; // time after the end does not count
  assert.equal(run.elapsedMs, 12_000);
  assert.equal(run.etaMs, 0);
  assert.equal(trainingTitle(h, { run }), "step 10/10 · finished: 10 steps in 12s · loss 0.4000 · 2000 tok/s");
});

test("a run past the schedule says so, shows every step and what the learning rate does", () => {
  let now = 0;
  const run = new TuningRun(8, 6, { ...schedule, ctxLen: 128, microBsz: 1 }, () => now);
  assert.equal(run.targetStep, 14);
  assert.ok(run.pastSchedule);
  assert.equal(run.lrPastSchedule, 0.01);
  assert.match(run.warnings[0], /past the schedule: steps 11–14 come after its 10 steps, at .* 0\.01/);
  const h = records(14).map((r) => ({ ...r, lr: r.step > 10 ? 0.01 : 0.5 }));
  for (const r of h.slice(8, 12)) {
    now += 500;
    run.record(r);
  }
  assert.equal(run.etaMs, 1000);
  assert.equal(run.progressText(), "step 12 of 14, past the 10-step schedule · ETA 1.0s");
  now += 100; // a fast step: the time left is in tenths, never "0s" while steps remain
  run.record(h[12]);
  assert.equal(run.progressText(), "step 13 of 14, past the 10-step schedule · ETA 0.4s");
  const f = trainingFigure(h.slice(0, 12), { run });
  assert.deepEqual(
    (f.layout.xaxis as { range: number[] }).range,
    [0, 14 * 1.01 + 0.5],
    "the axis reaches the run's end",
  );
  assert.equal((f.data[0].x as number[]).length, 12, "every step is drawn");
  assert.equal((f.layout.shapes as { x0: number }[])[0].x0, 10, "a line where the schedule ends");
  assert.match(
    String((f.layout.annotations as { text: string }[])[0].text),
    /schedule ends \(step 10\).*lr stays 0\.01/,
  );
});

test("nothing left to run, padding and interrupted runs are reported, not silent", () => {
  const done = new TuningRun(10, 0, { ...schedule, ctxLen: 128, microBsz: 1 }, () => 0);
  assert.match(done.warnings[0], /nothing to run: the 10-step schedule is complete .* tuner\.run\(\{ steps: n \}\)/);
  const padded = new TuningRun(0, 10, { ...schedule, ctxLen: 512, microBsz: 4 }, () => 0);
  for (const r of records(3)) padded.record(r);
  assert.match(padded.warnings[0], /most of each sample is padding: about 100 of the 2048 positions .* \(5%\)/);
  const full = new TuningRun(0, 10, { ...schedule, ctxLen: 100, microBsz: 1 }, () => 0);
  for (const r of records(3)) full.record(r);
  assert.deepEqual(full.warnings, []);
  let now = 0;
  const cut = new TuningRun(0, 10, { ...schedule, ctxLen: 100, microBsz: 1 }, () => now);
  cut.record(records(1)[0]);
  now = 900;
  cut.finish("interrupted");
  assert.equal(cut.progressText(), "step 1/10 · interrupted after 1 of 10 steps (state from step 1)");
});

test("training figure: raw and smoothed loss, validation loss when measured, lr on a labelled axis", () => {
  const h = records(4);
  const f = trainingFigure(h, { totalSteps: 10 });
  assert.deepEqual(
    f.data.map((d) => d.name),
    ["loss", "loss (smoothed)", "learning rate"],
  );
  assert.equal(f.data[2].yaxis, "y2");
  assert.equal((f.layout.yaxis2 as { title: { text: string } }).title.text, "learning rate");
  assert.equal(trainingTitle(h, { totalSteps: 10 }), "steps 1–4 of the 10-step schedule · loss 4.0000 → 1.0000");
  const v = trainingFigure(
    h.map((r) => (r.step % 2 ? r : { ...r, validationLoss: 3 / r.step })),
    { totalSteps: 10 },
  );
  const val = v.data.find((d) => d.name === "validation loss")!;
  assert.deepEqual(
    [val.x, val.y],
    [
      [2, 4],
      [1.5, 0.75],
    ],
  );
  assert.deepEqual(
    smoothed([2, 2, 2], 0.9).map((x) => +x.toFixed(9)),
    [2, 2, 2],
  );
  assert.ok(staticSvg(v).includes(">validation loss</text>"), "the static picture has the legend entry");
});

const state = (nLayer: number, nHead: number, headSize: number, f: (i: number) => number) => ({
  nLayer,
  nHead,
  headSize,
  wkv: Float32Array.from({ length: nLayer * nHead * headSize * headSize }, (_, i) => f(i)),
});

test("state figures: integer head ticks, a colour scale from zero, named states in diffs", () => {
  const s = state(3, 2, 4, (i) => 60 + (i % 7));
  const norms = stateNorms(s);
  assert.deepEqual((norms.layout.xaxis as { tickvals: number[] }).tickvals, [0, 1]);
  assert.deepEqual((norms.layout.yaxis as { tickvals: number[] }).tickvals, [0, 1, 2]);
  assert.equal(norms.data[0].zmin, 0);
  const zero = state(3, 2, 4, () => 0);
  const d = stateDiff(zero, s);
  assert.match(String((d.layout.title as { text: string }).text), /^second state − zero state: layer \d, head \d/);
  const named = stateDiff(zero, s, { names: ["untuned", "tuned"], layer: 1, head: 0 });
  assert.equal((named.layout.title as { text: string }).text, "tuned − untuned: layer 1, head 0");
  const hm = stateHeatmap(s, { layer: 2, head: 1 });
  assert.deepEqual((hm.layout.xaxis as { tickvals: number[] }).tickvals, [0, 1, 2, 3]);
  assert.throws(() => stateHeatmap(s, { layer: 3 }), /layer 3 is out of range/);
});

test("the next-token figure names the compared position and shows tokens visibly", () => {
  const c: NextTokenComparison = {
    prompt: "Q: hi\n\nA:",
    labels: ["untuned", "tuned"],
    answer: [
      { id: 32, label: "␣" },
      { id: 65, label: "Arr" },
      { id: 0, label: "⟨end⟩" },
    ],
    answerFrom: "tuned",
    divergence: [0.01, 0.7, 0.2],
    position: 1,
    chosen: "most different",
    context: "A:␣",
    tokens: [
      { id: 65, token: "Arr", label: "Arr" },
      { id: 60, token: "<", label: "<" },
    ],
    probabilities: [
      [0.1, 0.5],
      [0.8, 0.1],
    ],
  };
  const f = nextTokenFigure(c);
  const title = f.layout.title as { text: string; subtitle: { text: string } };
  assert.equal(title.text, "where untuned and tuned part: answer token 2 of 3 (“Arr”)");
  const headings = (f.layout.annotations as { text: string; y: number }[]).map((a) => a.text);
  assert.match(headings[0], /how differently the states predict each answer token/, "the top panel says what it shows");
  assert.equal(headings[1], "each state's likeliest tokens at answer token 2 of 3 (“Arr”)");
  assert.match(title.subtitle.text, /after “…A:␣”; answer \(tuned, greedy\): “␣Arr⟨end⟩”/);
  assert.deepEqual(f.data[0].x, ["Arr", "&lt;"], "plotly's HTML-like text gets an escaped <");
  const div = f.data.find((d) => d.name === "divergence")!;
  assert.deepEqual((div.marker as { color: string[] }).color, ["#9aa5b1", "#d62728", "#9aa5b1"]);
  assert.ok(staticSvg(f).includes(">&lt;</text>"), "the static picture escapes it for SVG");
});

test("the trajectory's token axis labels every token when they fit, and says when it labels every k-th", () => {
  const of = (labels: string[]) =>
    trajectoryFigure({
      tokens: labels,
      labels,
      normsByLayer: [labels.map((_, i) => i)],
      layer: 0,
      projection: labels.map((_, i) => [i, -i] as [number, number]),
      explained: [0.6, 0.3],
    }).layout.xaxis as { tickvals: number[]; ticktext: string[]; title: { text: string } };
  const chars = of(
    [..."User: what is 2 plus 5?⏎⏎Assistant: Arr! 2 plus 5 be 7, matey."].map((c) => (c === " " ? "␣" : c)),
  );
  assert.equal(chars.tickvals.length, 62, "62 one-character tokens are all labelled");
  assert.equal(chars.ticktext.slice(0, 5).join(""), "User:");
  assert.equal(chars.title.text, "token");
  const words = of(Array.from({ length: 120 }, (_, i) => `␣word${i}`));
  assert.equal(words.tickvals[1], 3);
  assert.equal(words.title.text, "token (every 3rd labelled)");
});

test("tableView takes plain records, and a tuner's history with readable columns", () => {
  const t = tableView(records(3), { caption: "h" })[displaySymbol]();
  assert.match(String(t["text/html"]), /<caption>h<\/caption><thead><tr><th [^>]*>step<\/th><th [^>]*>loss<\/th>/);
  assert.equal(String(t["text/plain"]).split("\n").length, 5);
  const h = new StepHistory();
  h.push(...records(25));
  const v = String(tableView(h, { limit: 30 })[displaySymbol]()["text/plain"]).split("\n");
  assert.equal(v[0], "step\tloss\tlr\t|grad|\ttokens\ttok/s\tms");
  assert.equal(v.length, 26);
});

test("outside a kernel there is no cell context and a live view is a no-op", () => {
  assert.equal(cellContext(), undefined);
  let renders = 0;
  const v = liveView(() => {
    renders++;
    return { "text/plain": "x" };
  });
  v.update();
  v.close();
  assert.equal(renders, 0);
});
