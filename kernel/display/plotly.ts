// Plotly figures. In a kernel the bundle carries application/vnd.plotly.v1+json (JupyterLab,
// VS Code), text/html (classic Notebook 6.4 and static HTML export, which only run scripts) and
// text/plain. plotly.js (4.8 MB) is sent once per kernel session as its own output, before the
// first figure; figure HTML waits for window.Plotly, so later figures and live updates stay small.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { MimeBundle, displaySymbol } from "./bundle";
import { cellScope } from "./context";
import { escapeHtml } from "./html";
import { writeFileAtomic } from "../runtime/files";

export type PlotlyTrace = Record<string, unknown>;
export type PlotlyLayout = Record<string, unknown>;
export type PlotlyConfig = Record<string, unknown>;

/** An animation frame: what a slider step or button with method "animate" shows. */
export interface PlotlyFrame {
  name: string;
  data: PlotlyTrace[];
  /** The traces (indices) `data` updates; default the first ones. */
  traces?: number[];
  layout?: PlotlyLayout;
}

export interface FigureJSON {
  data: PlotlyTrace[];
  layout: PlotlyLayout;
  config: PlotlyConfig;
  frames?: PlotlyFrame[];
}

let libraryText: string | undefined;
function plotlyLibrary(): string {
  libraryText ??= fs.readFileSync(require.resolve("plotly.js-dist-min"), "utf8");
  return libraryText;
}

let librarySent = false;
let libraryCellId: string | undefined;
let libraryCount = -1;
/**
 * Publishes plotly.js into the current cell once per kernel process, and again when the cell
 * that carried it is re-run (its old outputs, library included, are being replaced).
 */
function ensureLibraryInNotebook(): void {
  const scope = cellScope();
  if (!scope || (librarySent && (scope.cellId === undefined || scope.cellId !== libraryCellId))) return;
  if (librarySent && scope.executionCount === libraryCount) return;
  librarySent = true;
  libraryCellId = scope.cellId;
  libraryCount = scope.executionCount;
  scope.publish("display_data", {
    data: {
      "text/html": `<script type="text/javascript">${plotlyLibrary()}</script>`,
      "text/plain": "(plotly.js loaded)",
    },
    metadata: {},
    transient: {},
  });
}

/** JSON safe to embed inside a <script> element. */
function scriptJSON(value: unknown): string {
  return JSON.stringify(value)
    .replace(/<\//g, "<\\/")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

export class Figure {
  /** Animation frames, for sliders and buttons that animate (they run in the page, offline too). */
  frames?: PlotlyFrame[];
  constructor(
    public data: PlotlyTrace[] = [],
    public layout: PlotlyLayout = {},
    public config: PlotlyConfig = { responsive: true },
  ) {
    // plotly.js 3+ ignores a plain-string title; accept it as the common shorthand.
    if (typeof layout.title === "string") this.layout = { ...layout, title: { text: layout.title } };
  }

  toJSON(): FigureJSON {
    const { data, layout, config, frames } = this;
    return frames ? { data, layout, config, frames } : { data, layout, config };
  }

  /** An HTML fragment: a div and a script that draws into it once plotly.js is present. */
  private fragment(): string {
    const id = `rwkv-plot-${randomUUID()}`;
    const height = typeof this.layout.height === "number" ? this.layout.height : 420;
    return (
      `<div id="${id}" class="rwkv-plot" style="width:100%;height:${height}px"></div>\n` +
      `<script type="text/javascript">(function(){var n=0,f=${scriptJSON(this.toJSON())};` +
      `function draw(){var el=document.getElementById("${id}");if(!el)return;` +
      `if(!window.Plotly){if(++n<200){setTimeout(draw,50)}else{el.textContent="plotly.js is not loaded"}return}` +
      `window.Plotly.newPlot(el,f)}draw()})();</script>`
    );
  }

  /** A standalone HTML page with plotly.js inlined (works offline). */
  toHTML(): string {
    const title = (this.layout.title as { text?: string } | undefined)?.text ?? "figure";
    return (
      `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>\n` +
      `<script type="text/javascript">${plotlyLibrary()}</script></head>\n<body>\n${this.fragment()}\n</body></html>\n`
    );
  }

  /** Writes HTML (default) or the figure JSON (`.json`), through a temporary name. */
  save(file: string): void {
    const text = path.extname(file).toLowerCase() === ".json" ? JSON.stringify(this.toJSON()) : this.toHTML();
    try {
      writeFileAtomic(file, (fd) => fs.writeFileSync(fd, text));
    } catch (e) {
      throw new Error(`cannot save figure to ${file}: ${(e as Error).message}`, { cause: e });
    }
  }

  [displaySymbol](): MimeBundle {
    const inKernel = cellScope() !== undefined;
    if (inKernel) ensureLibraryInNotebook();
    const html = inKernel
      ? this.fragment()
      : `<script type="text/javascript">${plotlyLibrary()}</script>\n${this.fragment()}`;
    return {
      "application/vnd.plotly.v1+json": this.toJSON(),
      "text/html": html,
      "text/plain": this.describe(),
    };
  }

  private describe(): string {
    const title = (this.layout.title as { text?: string } | undefined)?.text;
    const traces = this.data
      .map((d) => `${String(d.type ?? "scatter")}${d.name ? ` '${String(d.name)}'` : ""}`)
      .join(", ");
    return `Figure${title ? ` "${title}"` : ""} [${traces}]`;
  }
}
