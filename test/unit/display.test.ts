// The display layer outside a kernel: bundles, figures, the training figure and live views.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { displaySymbol, toBundle } from "../../kernel/display/bundle";
import { cellContext } from "../../kernel/display/context";
import { Figure } from "../../kernel/display/plotly";
import { liveView } from "../../kernel/display/live";
import { StepRecord, smoothed, trainingFigure, trainingTitle } from "../../kernel/display/figures/training";

test("toBundle uses the display protocol, else inspect text", () => {
  assert.deepEqual(toBundle({ [displaySymbol]: () => ({ "text/html": "<i>x</i>" }) })["text/html"], "<i>x</i>");
  assert.deepEqual(toBundle({ a: [1, 2] }), { "text/plain": "{ a: [ 1, 2 ] }" });
  assert.throws(() => toBundle({ [displaySymbol]: () => null }), /must return a MIME bundle/);
});

test("a figure's bundle has plotly JSON, self-contained HTML outside a kernel, and text", () => {
  const b = new Figure([{ type: "scatter", x: [1], y: [2], name: "s" }], { title: "t" })[displaySymbol]();
  assert.deepEqual((b["application/vnd.plotly.v1+json"] as { layout: unknown }).layout, { title: { text: "t" } });
  assert.match(String(b["text/html"]), /plotly\.js v4/);
  assert.equal(b["text/plain"], "Figure \"t\" [scatter 's']");
});

test("figure.save writes HTML or JSON and names the file on failure", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-fig-"));
  try {
    const f = new Figure([{ x: [1, 2], y: [3, 4] }]);
    f.save(path.join(dir, "f.html"));
    assert.match(fs.readFileSync(path.join(dir, "f.html"), "utf8"), /^<!DOCTYPE html>[\s\S]*Plotly/);
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

test("training figure: raw and smoothed loss, lr on a second axis, title with step/total, tok/s, ETA", () => {
  const h: StepRecord[] = [1, 2, 3, 4].map((step) => ({
    step,
    loss: 4 / step,
    lr: 1e-3,
    gradNorm: 1,
    tokens: 100 * step,
    tokensPerSecond: 2000,
    elapsedMs: 1000 * step,
  }));
  const f = trainingFigure(h, { totalSteps: 10 });
  assert.equal(f.data.length, 3);
  assert.equal(f.data[2].yaxis, "y2");
  assert.equal(trainingTitle(h, 10), "step 4/10 · loss 1.0000 · 2000 tok/s · ETA 6s");
  assert.deepEqual(
    smoothed([2, 2, 2], 0.9).map((v) => +v.toFixed(9)),
    [2, 2, 2],
  );
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
