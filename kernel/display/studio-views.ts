// How the state studio's results look in a notebook: a StateComparison as its loss table, the
// replies side by side and the distance figure. Installed with the other runtime views.
import { registerFormatter, toBundle, type MimeBundle } from "./bundle";
import { stateDistanceFigure } from "./figures/compare";
import { escapeHtml } from "./html";
import { StateComparison } from "../runtime/inspect/compare";

const td = (s: string, style = "") => `<td style="text-align:left;vertical-align:top;${style}">${s}</td>`;
const th = (s: string) => `<th style="text-align:left">${escapeHtml(s)}</th>`;
const reply = (s: string) => escapeHtml(s).replace(/\n/g, "<br>");

export function comparisonBundle(c: StateComparison): MimeBundle {
  const parts: string[] = [`<div><b>${c.names.length} states compared</b>`];
  const text: string[] = [];
  if (c.losses && c.heldOut) {
    const best = Math.min(...c.losses.map((l) => l.loss));
    const rows = c.losses.map((l, i) => {
      const bold = l.loss === best ? "font-weight:bold;" : "";
      const cells = [escapeHtml(l.name), escapeHtml(c.sources[i]), l.loss.toFixed(4), l.ppl.toFixed(3)];
      const delta = l.loss === best ? "best" : `+${(l.loss - best).toFixed(4)}`;
      return `<tr>${[...cells, delta].map((x) => td(x, bold)).join("")}</tr>`;
    });
    parts.push(
      `<table><caption style="text-align:left">held-out loss on ${c.heldOut.docs} documents ` +
        `(${c.heldOut.tokens} tokens), each read from the state</caption>` +
        `<thead><tr>${["state", "from", "loss", "perplexity", "vs best"].map(th).join("")}</tr></thead>` +
        `<tbody>${rows.join("")}</tbody></table>`,
    );
    text.push(...c.losses.map((l) => `${l.name}: held-out loss ${l.loss.toFixed(4)}`));
  }
  if (c.generations.length) {
    const rows = c.generations.map(
      (g) => `<tr>${td(reply(g.prompt), "color:#555")}${g.replies.map((r) => td(reply(r))).join("")}</tr>`,
    );
    parts.push(
      `<table><caption style="text-align:left">replies with the same seed per prompt</caption>` +
        `<thead><tr>${["prompt", ...c.names].map(th).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`,
    );
    for (const g of c.generations)
      text.push(`${g.prompt.split("\n")[0]} → ${g.replies.map((r, i) => `${c.names[i]}: ${r}`).join(" | ")}`);
  }
  const fig = toBundle(stateDistanceFigure(c))["text/html"];
  parts.push(typeof fig === "string" ? fig : "", "</div>");
  return { "text/html": parts.join("\n"), "text/plain": text.join("\n") || `StateComparison(${c.names.join(", ")})` };
}

let installed = false;

/** Registers the studio's bundles (once). */
export function installStudioViews(): void {
  if (installed) return;
  installed = true;
  registerFormatter(StateComparison, comparisonBundle);
}
