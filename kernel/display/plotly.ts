// Plotly figures that stand alone. A figure's bundle carries application/vnd.plotly.v1+json
// (JupyterLab, VS Code), text/html and text/plain. The HTML holds a static SVG picture of the
// figure (drawn in the kernel, shown where scripts do not run: untrusted notebooks, exports) with a
// line saying how to get the interactive one, and a small script that loads plotly.js (4.8 MB) once
// per page and draws. It looks for plotly.js on the page (an export made with inlinePlotly), then
// in the rwkv-ts kernelspec, which Jupyter serves at <base>/kernelspecs/rwkv-ts/plotly.min.js
// (`rwkv-nb kernel install` puts it there), then, in a page opened from disk, in the installed
// package. No output depends on another, and a notebook no longer carries plotly.js.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { MimeBundle, displaySymbol } from "./bundle";
import { escapeHtml } from "./html";
import { figureSvg } from "./static-svg";
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

/** The kernelspec resource name of plotly.js. */
export const PLOTLY_RESOURCE = "plotly.min.js";
/** The kernelspec that serves it: jupyter/install.ts's KERNEL_NAME (a test checks they agree). */
export const PLOTLY_KERNELSPEC = "rwkv-ts";

/** Path of the plotly.js bundle this package ships with. */
export function plotlyLibraryFile(): string {
  return require.resolve("plotly.js-dist-min");
}

let libraryText: string | undefined;
function plotlyLibrary(): string {
  libraryText ??= fs.readFileSync(plotlyLibraryFile(), "utf8");
  return libraryText;
}

/** JSON safe to embed inside a <script> element. */
function scriptJSON(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

export const STATIC_HINT =
  "Static picture. For the interactive figure, trust the notebook (File → Trust Notebook) or re-run the cell.";
const LOAD_FAILED =
  "Static picture: plotly.js could not be loaded (tried: %s). Reinstall the kernel (rwkv-nb kernel install) " +
  "and reload the page.";

// Runs in the browser (ES5: any frontend), called with the figure and where to look for plotly.js.
// Loads plotly.js once per page: every figure's script shares window.__rwkvPlotly, a promise of it.
const LOADER = `function(f,id,spec,file,local,failed){
var root=document.getElementById(id);if(!root)return;
var plot=root.querySelector(".rwkv-plot"),still=root.querySelector(".rwkv-static");
var hint=root.querySelector(".rwkv-hint");
function draw(P){plot.style.display="block";if(still)still.style.display="none";
P.newPlot(plot,f);}
if(window.Plotly){draw(window.Plotly);return;}
if(!window.__rwkvPlotly){
var urls=[];
if(/^https?:$/.test(location.protocol)){
var base=document.body&&document.body.getAttribute("data-base-url");
if(base==null){try{base=JSON.parse(document.getElementById("jupyter-config-data").textContent).baseUrl;}catch(e){}}
urls.push(String(base||"/").replace(/\\/?$/,"/")+"kernelspecs/"+spec+"/"+file);
}else if(local){urls.push(local);}
window.__rwkvPlotly=new Promise(function(ok,no){(function next(i){
if(window.Plotly)return ok(window.Plotly);if(i>=urls.length)return no(urls.join(", ")||"no location");
var s=document.createElement("script");s.src=urls[i];
s.onload=function(){next(i+1);};s.onerror=function(){s.parentNode.removeChild(s);next(i+1);};
document.head.appendChild(s);})(0);});
}
window.__rwkvPlotly.then(draw,function(tried){if(hint)hint.textContent=failed.replace("%s",tried);});
}`;

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

  /** The static picture: an SVG document. */
  toSVG(): string {
    return figureSvg(this);
  }

  /** An HTML fragment: the static picture with its hint, a div for plotly.js and the script that draws into it. */
  private fragment(): string {
    const id = `rwkv-fig-${randomUUID()}`;
    const height = typeof this.layout.height === "number" ? this.layout.height : 420;
    const title = this.title() ?? "figure";
    // The picture is a convenience: a figure it cannot draw still shows (and a live view keeps going).
    let picture: string;
    try {
      const svg = Buffer.from(this.toSVG()).toString("base64");
      picture = `<img alt="${escapeHtml(title)}" style="max-width:100%" src="data:image/svg+xml;base64,${svg}">`;
    } catch (e) {
      picture = `<div>(${escapeHtml(title)}: no static picture: ${escapeHtml((e as Error).message)})</div>`;
    }
    const args = [
      this.toJSON(),
      id,
      PLOTLY_KERNELSPEC,
      PLOTLY_RESOURCE,
      pathToFileURL(plotlyLibraryFile()).href,
      LOAD_FAILED,
    ].map(scriptJSON);
    return (
      `<div id="${id}" class="rwkv-figure">` +
      `<div class="rwkv-plot" style="display:none;width:100%;height:${height}px"></div>` +
      `<div class="rwkv-static">${picture}` +
      `<div class="rwkv-hint" style="color:#777;font-size:12px">${escapeHtml(STATIC_HINT)}</div></div></div>\n` +
      `<script type="text/javascript">(${LOADER})(${args.join(",")});</script>`
    );
  }

  /** A standalone HTML page with plotly.js inlined (works offline). */
  toHTML(): string {
    return inlinePlotly(
      `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(this.title() ?? "figure")}</title>\n` +
        `</head>\n<body>\n${this.fragment()}\n</body></html>\n`,
    );
  }

  /** Writes HTML (default), the static SVG (`.svg`) or the figure JSON (`.json`), through a temporary name. */
  save(file: string): void {
    const ext = path.extname(file).toLowerCase();
    const text = ext === ".json" ? JSON.stringify(this.toJSON()) : ext === ".svg" ? this.toSVG() : this.toHTML();
    try {
      writeFileAtomic(file, (fd) => fs.writeFileSync(fd, text));
    } catch (e) {
      throw new Error(`cannot save figure to ${file}: ${(e as Error).message}`, { cause: e });
    }
  }

  [displaySymbol](): MimeBundle {
    return {
      "application/vnd.plotly.v1+json": this.toJSON(),
      "text/html": this.fragment(),
      "text/plain": this.describe(),
    };
  }

  private title(): string | undefined {
    const t = (this.layout.title as { text?: string } | undefined)?.text;
    return t?.replace(/<br\s*\/?>/gi, " · ").replace(/<[^<>]*>/g, "");
  }

  private describe(): string {
    const title = this.title();
    const traces = this.data
      .map((d) => `${String(d.type ?? "scatter")}${d.name ? ` '${String(d.name)}'` : ""}`)
      .join(", ");
    return `Figure${title ? ` "${title}"` : ""} [${traces}]`;
  }
}

/**
 * `html` with plotly.js inlined once in its <head> when it shows figures, so that it draws them
 * offline anywhere (an nbconvert export, a saved figure).
 */
export function inlinePlotly(html: string): string {
  if (!html.includes("rwkv-figure") || html.includes("window.Plotly = Plotly")) return html;
  const tag = `<script type="text/javascript">${plotlyLibrary().replace(/<\/script/gi, "<\\/script")}</script>\n`;
  const at = html.search(/<\/head>/i);
  return at < 0 ? tag + html : html.slice(0, at) + tag + html.slice(at);
}
