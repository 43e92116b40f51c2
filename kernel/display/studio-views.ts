// How the state studio's results look in a notebook: a StateComparison as its loss table, the
// replies side by side and the distance figure; a CompiledPrompt as its fidelity summary; and the
// live fidelity meter every compilePrompt shows (the runtime draws nothing itself).
import { registerFormatter, toBundle, type MimeBundle } from "./bundle";
import { stateDistanceFigure } from "./figures/compare";
import { escapeHtml } from "./html";
import { StateComparison } from "../runtime/inspect/compare";
import { CompiledPrompt, setDefaultCompileObserver } from "../runtime/tune/compile-prompt";
import { fidelityFigure } from "./figures/fidelity";
import { liveView } from "./live";

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

/** The compiled prompt: what it saves, how faithful it is against no prompt and the warm start, and the meter. */
export function compiledPromptBundle(c: CompiledPrompt): MimeBundle {
  const f = (x: { kl: number; top1: number }) => [x.kl.toExponential(3), `${(100 * x.top1).toFixed(2)}%`];
  const rows: [string, string, string][] = [
    ["no prompt (zero state)", ...f(c.zero)] as [string, string, string],
    ["warm start (the prompt's wkv, shifts dropped)", ...f(c.warm)] as [string, string, string],
    [`compiled (step ${c.best.step})`, ...f(c.fidelity)] as [string, string, string],
  ];
  const table =
    `<table><caption style="text-align:left">the state for ${escapeHtml(JSON.stringify(c.prompt))}: ` +
    `${c.promptTokens} prompt tokens saved per conversation; KL ${(100 * c.klDrop).toFixed(4)}% below no prompt ` +
    `(held out: ${c.continuations.heldOut} continuations; trained on ${c.continuations.train})</caption>` +
    `<thead><tr>${["state", "KL(prompted ‖ state), nats/token", "top-1 agreement"].map(th).join("")}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((x) => td(escapeHtml(x))).join("")}</tr>`).join("")}</tbody></table>`;
  const fig = toBundle(fidelityFigure(c))["text/html"];
  return {
    "text/html": `<div>${table}${typeof fig === "string" ? fig : ""}</div>`,
    "text/plain": rows.map((r) => `${r[0]}: KL ${r[1]}, top-1 ${r[2]}`).join("\n"),
  };
}

let installed = false;

/** Registers the studio's bundles (once). */
export function installStudioViews(): void {
  if (installed) return;
  installed = true;
  registerFormatter(StateComparison, comparisonBundle);
  registerFormatter(CompiledPrompt, compiledPromptBundle);
  setDefaultCompileObserver((progress) => {
    const view = liveView(() => fidelityFigure(progress));
    return { onStep: () => view.update(), onEnd: () => view.close() };
  });
}
