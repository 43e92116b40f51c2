// plot.stateEvolution in a static HTML export: nbconvert executes a notebook that tunes the demo
// model and draws the figure, exports it to HTML, and headless Chromium opens the file (no server,
// no network), drags the slider over the steps and picks another head in the dropdown: the shown
// matrix, the step markers and the slider's step must change. Screenshots go to test-output/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CHROMIUM, launchChromium } from "../helpers/chromium";
import { jupyterEnv, missingJupyter, ROOT } from "./jupyter-env";

const skip = missingJupyter("nbconvert") ?? (fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed`);

const cells = [
  'import * as fs from "fs";',
  'import { Model, Dataset, Tuner, plot } from "rwkv-notebook";',
  'import { tutorialSetup } from "rwkv-notebook/tutorial";',
  "const setup = tutorialSetup();",
  "const model = await Model.load(setup.modelPath);",
  'const texts = fs.readFileSync(setup.dataPath, "utf8").trim().split("\\n").map((l) => JSON.parse(l).text);',
  "const data = Dataset.fromTexts(texts, model.tokenizer);",
  "const tuner = new Tuner(model, data, { ctxLen: 32, microBsz: 2, totalSteps: 16, seed: 1 });",
  "await tuner.run({ live: false });",
  "tuner.steps",
].join("\n");

declare const document: { querySelector(s: string): unknown };
type Shown = { head: string; sum: number; active: number; marker: number; label: string };

test(
  "stateEvolution in a static HTML export: the slider and the dropdown work offline",
  { skip, timeout: 300_000 },
  async () => {
    const je = jupyterEnv();
    const browser = await launchChromium();
    try {
      const nb = {
        cells: [
          { cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: cells },
          { cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: "plot.stateEvolution(tuner)" },
        ],
        metadata: { kernelspec: { name: "rwkv-ts", display_name: "TypeScript (rwkv)", language: "typescript" } },
        nbformat: 4,
        nbformat_minor: 5,
      };
      fs.writeFileSync(path.join(je.workDir, "evolution.ipynb"), JSON.stringify(nb));
      const env = { ...je.env };
      delete env.RWKV_MODEL;
      const r = spawnSync(
        "jupyter",
        ["nbconvert", "--to", "html", "--execute", "--ExecutePreprocessor.timeout=240", "evolution.ipynb"],
        { cwd: je.workDir, env, encoding: "utf8" },
      );
      assert.equal(r.status, 0, r.stderr.slice(-3000));
      const html = path.join(je.workDir, "evolution.html");

      const page = await browser.newPage({ viewport: { width: 1100, height: 1300 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      const requests: string[] = [];
      page.on("request", (q) => {
        if (!q.url().startsWith("file:") && !q.url().startsWith("data:")) requests.push(q.url());
      });
      await page.goto(`file://${html}`);
      await page.waitForSelector(".slider-container .slider-grip-rect", { timeout: 60_000 });
      const shown = (): Promise<Shown> =>
        page.evaluate(() => {
          type Trace = { type: string; name?: string; visible?: boolean; z?: number[][]; x?: number[]; mode?: string };
          const gd = document.querySelector(".js-plotly-plot") as {
            data: Trace[];
            layout: { sliders: { active: number }[] };
          };
          const head = gd.data.find((d) => d.type === "heatmap" && d.visible === true && d.name)!;
          const marker = gd.data.find((d) => d.mode === "lines")!;
          const label = (document.querySelector(".slider-group > .slider-label") as { textContent: string })
            .textContent;
          return {
            head: head.name!,
            sum: head.z!.flat().reduce((s, x) => s + Math.abs(x), 0),
            active: gd.layout.sliders[0].active,
            marker: marker.x![0],
            label,
          };
        });
      const shots = path.join(ROOT, "test-output");
      fs.mkdirSync(shots, { recursive: true });
      const before = await shown();
      assert.equal(before.label, "step 16");
      assert.equal(before.marker, 16);
      assert.ok(before.sum > 0, "the final state's head is all zero");
      await page.locator(".js-plotly-plot").screenshot({ path: path.join(shots, "state-evolution-export-final.png") });

      // Drag the grip to a third of the rail, as a person would.
      await (await page.$(".slider-container"))!.scrollIntoViewIfNeeded();
      const rail = (await (await page.$(".slider-container .slider-rail-rect"))!.boundingBox())!;
      const grip = (await (await page.$(".slider-container .slider-grip-rect"))!.boundingBox())!;
      await page.mouse.move(grip.x + grip.width / 2, grip.y + grip.height / 2);
      await page.mouse.down();
      await page.mouse.move(rail.x + rail.width / 3, grip.y + grip.height / 2, { steps: 12 });
      await page.mouse.up();
      await page.waitForTimeout(300);
      const moved = await shown();
      assert.ok(moved.active < before.active, `slider did not move: active ${moved.active}`);
      assert.ok(moved.marker > 0 && moved.marker < 16, `step marker at ${moved.marker}`);
      assert.equal(moved.label, `step ${moved.marker}`);
      assert.notEqual(moved.sum, before.sum, "the heatmap did not change with the slider");
      await page.locator(".js-plotly-plot").screenshot({ path: path.join(shots, "state-evolution-export-slid.png") });

      // The start of the rail is step 0: the zero state.
      await page.mouse.click(rail.x + 1, rail.y + rail.height / 2);
      await page.waitForTimeout(300);
      const start = await shown();
      assert.equal(start.label, "step 0");
      assert.equal(start.sum, 0);

      // Back to the end, then another head from the dropdown.
      await page.mouse.click(rail.x + rail.width - 1, rail.y + rail.height / 2);
      await page.waitForTimeout(300);
      const header = (await (await page.$(".updatemenu-header-group"))!.boundingBox())!;
      await page.mouse.click(header.x + header.width / 2, header.y + header.height / 2);
      const items = await page.$$(".updatemenu-dropdown-button");
      assert.equal(items.length, 8, "the dropdown lists the demo model's 4 layers × 2 heads");
      await items[5].click();
      await page.waitForTimeout(300);
      const other = await shown();
      assert.equal(other.head, "layer 2 head 1");
      assert.notEqual(other.sum, before.sum);
      await page.locator(".js-plotly-plot").screenshot({ path: path.join(shots, "state-evolution-export-head.png") });
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, [], "the export fetched something from the network");
    } finally {
      await browser.close();
      je.cleanup();
    }
  },
);
