// Headless Chromium (playwright-core) runs a notebook in classic Notebook 6.4 on rwkv-ts and finds
// the rendered plotly chart. The screenshot goes to $TMPDIR/rwkv-e2e/notebook-plotly.png.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { chromium } from "playwright-core";
import { FIXTURES, jupyterEnv, missingJupyter } from "./jupyter-env";
import { startServer } from "./jupyter-server";

const CHROMIUM = "/usr/bin/chromium";
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
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--disable-background-networking",
    ],
  });
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

test(
  "a static HTML export (nbconvert --to html) renders the plotly figures offline",
  { skip, timeout: 150_000 },
  async () => {
    const j = jupyterEnv();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
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
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--disable-background-networking",
    ],
  });
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
