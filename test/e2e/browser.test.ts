// Headless Chromium (playwright-core) runs a notebook in classic Notebook 6.4 on rwkv-ts and finds
// the rendered plotly chart. The screenshot goes to $TMPDIR/rwkv-e2e/notebook-plotly.png.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { CHROMIUM, launchChromium } from "../helpers/chromium";
import { FIXTURES, jupyterEnv, missingJupyter, readNotebook } from "./jupyter-env";
import { startServer } from "./jupyter-server";

const skip = missingJupyter("notebook") ?? (fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed`);

declare const document: { querySelectorAll(sel: string): ArrayLike<unknown> };
declare const Jupyter: {
  notebook: {
    kernel: { is_connected(): boolean } | null;
    execute_all_cells(): void;
    clear_all_output(): void;
    get_cells(): Array<{
      input_prompt_number?: number | string | null;
      output_area: { outputs: Array<{ output_type: string; traceback?: string[]; text?: string }> };
    }>;
  };
};

test("classic Notebook 6.4 renders the plotly figure from rwkv-ts", { skip, timeout: 150_000 }, async (t) => {
  const server = await startServer("notebook");
  fs.copyFileSync(path.join(FIXTURES, "display.ipynb"), path.join(server.env.workDir, "display.ipynb"));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1600 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}/notebooks/display.ipynb?token=${server.token}`);
    await page.waitForFunction(
      () => typeof Jupyter !== "undefined" && Jupyter.notebook?.kernel?.is_connected(),
      undefined,
      { timeout: 60_000 },
    );
    await page.waitForSelector("#kernel_indicator_icon.kernel_idle_icon", { timeout: 60_000 });
    await page.evaluate(() => {
      Jupyter.notebook.clear_all_output();
      Jupyter.notebook.execute_all_cells();
    });
    await page.waitForFunction(
      () => Jupyter.notebook.get_cells().every((c) => typeof c.input_prompt_number === "number"),
      undefined,
      { timeout: 60_000 },
    );
    await page.waitForSelector(".rwkv-plot .main-svg", { timeout: 30_000 });
    const plots = await page.evaluate(() =>
      Array.from(document.querySelectorAll(".rwkv-plot")).map(
        (el) => ((el as unknown as { data?: unknown[] }).data ?? []).length,
      ),
    );
    // The demo figure (1 trace) and the live training figure (3 traces).
    assert.deepEqual(plots.sort(), [1, 3]);
    const prompts = await page.evaluate(() => Jupyter.notebook.get_cells().map((c) => c.input_prompt_number));
    assert.deepEqual(prompts, [1, 2, 3, 4]);
    const outDir = path.join(os.tmpdir(), "rwkv-e2e");
    fs.mkdirSync(outDir, { recursive: true });
    const shot = path.join(outDir, "notebook-plotly.png");
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.stop();
  }
});

/** In the page: how many figures plotly.js has drawn (plotly makes two .main-svg per plot). */
const DRAWN_COUNT = `window.drawnCount = () =>
  [...document.querySelectorAll(".rwkv-figure")].filter((f) => f.querySelector(".main-svg")).length;`;
declare function drawnCount(): number;

test(
  "each figure stands alone: clear the first figure, save, reload, and the others are still drawn",
  { skip, timeout: 200_000 },
  async (t) => {
    const server = await startServer("notebook");
    const file = path.join(server.env.workDir, "figures.ipynb");
    fs.copyFileSync(path.join(FIXTURES, "figures.ipynb"), file);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1600 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      const plotlyLoads: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes("plotly")) plotlyLoads.push(r.url());
      });
      const open = async () => {
        await page.goto(`${server.url}/notebooks/figures.ipynb?token=${server.token}`);
        await page.waitForFunction(
          () => typeof Jupyter !== "undefined" && Jupyter.notebook?.kernel?.is_connected(),
          undefined,
          { timeout: 60_000 },
        );
      };
      const drawn = () =>
        page.evaluate(() =>
          Array.from(document.querySelectorAll(".rwkv-figure")).map((el) => {
            const e = el as unknown as { querySelector(s: string): { data?: unknown[] } | null };
            return (e.querySelector(".rwkv-plot")?.data ?? []).length > 0 && e.querySelector(".main-svg") !== null;
          }),
        );
      await open();
      await page.waitForSelector("#kernel_indicator_icon.kernel_idle_icon", { timeout: 60_000 });
      await page.addInitScript(DRAWN_COUNT);
      await page.evaluate(DRAWN_COUNT);
      await page.evaluate(() => {
        Jupyter.notebook.clear_all_output();
        Jupyter.notebook.execute_all_cells();
      });
      await page.waitForFunction((n) => drawnCount() === n, 3, {
        timeout: 60_000,
      });
      assert.deepEqual(await drawn(), [true, true, true]);
      // plotly.js came from the kernelspec, once for the page.
      assert.deepEqual(
        plotlyLoads.map((u) => new URL(u).pathname),
        ["/kernelspecs/rwkv-ts/plotly.min.js"],
      );

      await page.evaluate(() => {
        const nb = Jupyter.notebook as unknown as {
          get_cell(i: number): { clear_output(): void };
          save_notebook(): Promise<unknown>;
        };
        nb.get_cell(0).clear_output();
        return nb.save_notebook();
      });
      const saved = readNotebook(file);
      const bytes = fs.statSync(file).size;
      t.diagnostic(`saved notebook with 2 figures: ${bytes} bytes`);
      assert.equal(saved.cells[0].outputs?.length, 0, "the first figure's output is cleared in the file");
      assert.ok(bytes < 200_000, `the notebook is ${bytes} bytes: it must not carry plotly.js`);

      plotlyLoads.length = 0;
      await open();
      await page.waitForFunction((n) => drawnCount() === n, 2, {
        timeout: 60_000,
      });
      assert.deepEqual(await drawn(), [true, true], "both remaining figures are drawn after reopening");
      assert.equal(plotlyLoads.length, 1);
      const outDir = path.join(os.tmpdir(), "rwkv-e2e");
      fs.mkdirSync(outDir, { recursive: true });
      await page.screenshot({ path: path.join(outDir, "figures-reopened.png"), fullPage: true });

      // Untrusted (changed outside Jupyter, so its signature no longer matches): no script runs, and
      // each figure shows its static picture with a line saying how to get the interactive one.
      const nb = JSON.parse(fs.readFileSync(file, "utf8")) as { metadata: Record<string, unknown> };
      nb.metadata.edited_elsewhere = true;
      fs.writeFileSync(file, JSON.stringify(nb));
      await open();
      await page.waitForSelector(".rwkv-static img", { timeout: 30_000 });
      const still = await page.evaluate(() =>
        Array.from(document.querySelectorAll(".rwkv-figure")).map((el) => {
          const e = el as unknown as {
            querySelector(s: string): { naturalWidth?: number; textContent?: string } | null;
          };
          return {
            picture: (e.querySelector(".rwkv-static img")?.naturalWidth ?? 0) > 0,
            hint: e.querySelector(".rwkv-hint")?.textContent ?? "",
            drawn: e.querySelector(".main-svg") !== null,
          };
        }),
      );
      await page.screenshot({ path: path.join(outDir, "figures-untrusted.png"), fullPage: true });
      assert.equal(still.length, 2);
      for (const f of still) {
        assert.ok(f.picture && !f.drawn, JSON.stringify(f));
        assert.match(f.hint, /trust the notebook \(File → Trust Notebook\) or re-run the cell/);
      }
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
);

test(
  "a static HTML export (nbconvert --to html) renders the plotly figures offline",
  { skip, timeout: 150_000 },
  async () => {
    const j = jupyterEnv();
    const browser = await launchChromium();
    try {
      fs.copyFileSync(path.join(FIXTURES, "display.ipynb"), path.join(j.workDir, "display.ipynb"));
      const r = spawnSync(
        "jupyter",
        ["nbconvert", "--to", "html", "--execute", "--ExecutePreprocessor.kernel_name=rwkv-ts", "display.ipynb"],
        { cwd: j.workDir, env: j.env, encoding: "utf8", timeout: 120_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      const page = await browser.newPage();
      // No network: the export must not depend on a CDN for plotly.js.
      await page.route(/^https?:/, (route) => route.abort());
      await page.goto(`file://${path.join(j.workDir, "display.html")}`);
      await page.waitForSelector(".rwkv-plot .main-svg", { timeout: 30_000 });
      const plots = await page.evaluate(() =>
        Array.from(document.querySelectorAll(".rwkv-plot")).map(
          (el) => ((el as unknown as { data?: unknown[] }).data ?? []).length,
        ),
      );
      assert.deepEqual(plots.sort(), [1, 3]);
    } finally {
      await browser.close();
      j.cleanup();
    }
  },
);

test("Run All in classic Notebook 6.4 stops at the cell that fails", { skip, timeout: 150_000 }, async (t) => {
  const server = await startServer("notebook");
  fs.copyFileSync(path.join(FIXTURES, "errors.ipynb"), path.join(server.env.workDir, "errors.ipynb"));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${server.url}/notebooks/errors.ipynb?token=${server.token}`);
    await page.waitForFunction(
      () => typeof Jupyter !== "undefined" && Jupyter.notebook?.kernel?.is_connected(),
      undefined,
      { timeout: 60_000 },
    );
    await page.waitForSelector("#kernel_indicator_icon.kernel_idle_icon", { timeout: 60_000 });
    await page.evaluate(() => {
      Jupyter.notebook.clear_all_output();
      Jupyter.notebook.execute_all_cells();
    });
    // Every cell has its reply once no prompt shows "*" (running or queued).
    await page.waitForFunction(
      () =>
        Jupyter.notebook.get_cells()[1].output_area.outputs.length > 0 &&
        Jupyter.notebook.get_cells().every((c) => c.input_prompt_number !== "*"),
      undefined,
      { timeout: 60_000 },
    );
    await page.waitForSelector("#kernel_indicator_icon.kernel_idle_icon", { timeout: 30_000 });
    const cells = await page.evaluate(() =>
      Jupyter.notebook
        .get_cells()
        .map((c) => ({ prompt: c.input_prompt_number ?? null, outputs: c.output_area.outputs })),
    );
    assert.deepEqual(
      cells.map((c) => c.prompt),
      [1, 2, null, null],
    );
    assert.deepEqual(
      cells.map((c) => c.outputs.length),
      [0, 1, 0, 0],
    );
    const tb = cells[1].outputs[0].traceback!.join("\n");
    assert.match(tb, /Error: bad cell/);
    assert.match(tb, /at In \[2\], line 1\n {8}throw new Error\("bad cell"\);/);
    assert.doesNotMatch(tb, /tslab|node:vm|kernel\/jupyter/);
    const outDir = path.join(os.tmpdir(), "rwkv-e2e");
    fs.mkdirSync(outDir, { recursive: true });
    const shot = path.join(outDir, "notebook-stop-on-error.png");
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  } finally {
    await browser.close();
    await server.stop();
  }
});
