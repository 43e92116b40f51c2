// nbclient (`jupyter nbconvert --execute`) runs notebooks on the rwkv-ts kernel.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES, joined, jupyterEnv, missingJupyter, readNotebook } from "./jupyter-env";

const skip = missingJupyter("nbconvert");

function execute(name: string, extra: string[] = []) {
  const j = jupyterEnv();
  const src = path.join(j.workDir, `${name}.ipynb`);
  fs.copyFileSync(path.join(FIXTURES, `${name}.ipynb`), src);
  const r = spawnSync(
    "jupyter",
    [
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      "--ExecutePreprocessor.timeout=120",
      "--ExecutePreprocessor.kernel_name=rwkv-ts",
      ...extra,
      "--output",
      `${name}.out.ipynb`,
      src,
    ],
    { cwd: j.workDir, env: j.env, encoding: "utf8", timeout: 180_000 },
  );
  const out = path.join(j.workDir, `${name}.out.ipynb`);
  const nb = fs.existsSync(out) ? readNotebook(out) : undefined;
  j.cleanup();
  return { r, nb };
}

test("nbconvert --execute: streams, results, displays, a figure and a live view", { skip }, () => {
  const { r, nb } = execute("display");
  assert.equal(r.status, 0, r.stderr);
  const cells = nb!.cells;
  assert.deepEqual(
    cells.map((c) => c.execution_count),
    [1, 2, 3, 4],
  );
  const [c1, c2, c3, c4] = cells.map((c) => c.outputs ?? []);
  assert.equal(joined(c1.find((o) => o.output_type === "stream")?.text), "hello stream\n");
  const res1 = c1.find((o) => o.output_type === "execute_result")!;
  assert.equal(joined(res1.data!["text/plain"] as string), "2");
  assert.equal(res1.execution_count, 1);
  assert.ok(c2.some((o) => joined(o.data?.["text/html"] as string) === "<b>bold</b>"));
  assert.ok(c2.some((o) => joined(o.data?.["text/markdown"] as string) === "*md*"));
  const fig = c2.find((o) => o.output_type === "execute_result")!;
  assert.ok(fig.data!["application/vnd.plotly.v1+json"]);
  // The HTML stands alone: a static picture, and a script that loads plotly.js (not inlined) and draws.
  const figHtml = joined(fig.data!["text/html"] as string);
  assert.match(figHtml, /class="rwkv-static"><img [^>]*src="data:image\/svg\+xml;base64,/);
  assert.match(figHtml, /\.newPlot\(plot,f\)/); // the whole figure: data, layout, config and frames
  assert.ok(figHtml.length < 100_000, `the figure's HTML is ${figHtml.length} characters: does it carry plotly.js?`);
  assert.match(joined(fig.data!["text/plain"] as string), /Figure "demo chart"/);
  // The live view ends as one output holding the final figure (nbclient applies the updates).
  const live = c3.filter((o) => o.output_type === "display_data");
  assert.equal(live.length, 1);
  const liveFig = live[0].data!["application/vnd.plotly.v1+json"] as { layout: { title: { text: string } } };
  assert.equal(liveFig.layout.title.text, "steps 1–8 of the 8-step schedule");
  assert.deepEqual(
    c4.map((o) => joined(o.data?.["text/plain"] as string)),
    ["progress 3/3"],
  );
});

test("nbconvert --execute --allow-errors: cells after an error still run", { skip }, () => {
  const { r, nb } = execute("errors", ["--allow-errors"]);
  assert.equal(r.status, 0, r.stderr);
  const cells = nb!.cells;
  assert.deepEqual(
    cells.map((c) => c.execution_count),
    [1, 2, 3, 4],
  );
  const err = cells[1].outputs!.find((o) => o.output_type === "error")!;
  assert.equal(err.ename, "Error");
  assert.equal(err.evalue, "bad cell");
  assert.equal(joined(cells[2].outputs!.find((o) => o.output_type === "stream")?.text), "still runs 1\n");
  assert.equal(joined(cells[3].outputs![0].data!["text/plain"] as string), "2");
});

test("nbconvert --execute without --allow-errors stops at the error and names it", { skip }, () => {
  const { r } = execute("errors");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Error: bad cell/);
});
