// Tables in a notebook: an Apache Arrow Table (or plain rows, a tuner's history) shown as HTML with
// a text fallback.
import type { Table } from "apache-arrow";
import { displaySymbol, type MimeBundle } from "./bundle";
import { escapeHtml } from "./html";
import { StepHistory } from "../runtime/tune/run-summary";
import type { StepRecord } from "../runtime/tune/types";

type Row = object;

function cell(v: unknown): string {
  const s =
    ArrayBuffer.isView(v) || Array.isArray(v)
      ? `[${Array.from(v as ArrayLike<unknown>)
          .slice(0, 12)
          .join(", ")}${(v as ArrayLike<unknown>).length > 12 ? ", …" : ""}]`
      : typeof v === "number"
        ? Number.isInteger(v)
          ? String(v)
          : v.toPrecision(5)
        : v === undefined
          ? ""
          : String(v);
  return escapeHtml(s).replace(/\n/g, "⏎");
}

/** Rows as an HTML table and tab-separated text; `undefined` in a row is a gap (the row as null). */
export function rowsBundle(
  rows: (Row | null)[],
  opts: { caption?: string; footer?: string; columns?: string[] } = {},
): MimeBundle {
  const cols = opts.columns ?? [...new Set(rows.flatMap((r) => (r ? Object.keys(r) : [])))];
  const get = (r: Row, c: string) => (r as Record<string, unknown>)[c];
  const tr = (r: Row | null) =>
    r
      ? `<tr>${cols.map((c) => `<td style="text-align:left">${cell(get(r, c))}</td>`).join("")}</tr>`
      : `<tr><td colspan="${cols.length}" style="text-align:center">⋮</td></tr>`;
  return {
    "text/html":
      `<table>${opts.caption ? `<caption>${cell(opts.caption)}</caption>` : ""}` +
      `<thead><tr>${cols.map((c) => `<th style="text-align:left">${cell(c)}</th>`).join("")}</tr></thead><tbody>` +
      rows.map(tr).join("") +
      `</tbody></table>${opts.footer ? `<p>${cell(opts.footer)}</p>` : ""}`,
    "text/plain": [
      ...(opts.caption ? [opts.caption] : []),
      cols.join("\t"),
      ...rows.map((r) => (r ? cols.map((c) => cell(get(r, c))).join("\t") : "⋮")),
      ...(opts.footer ? [opts.footer] : []),
    ].join("\n"),
  };
}

/** A step record as a table row, with short column names. */
export function historyRow(r: StepRecord): Row {
  return {
    step: r.step,
    loss: r.loss,
    ...(r.validationLoss !== undefined ? { "validation loss": r.validationLoss } : {}),
    lr: r.lr,
    "|grad|": r.gradNorm,
    tokens: r.tokens,
    "tok/s": Math.round(r.tokensPerSecond),
    ms: Math.round(r.elapsedMs),
  };
}

/** A displayable view of the first `limit` rows (default 20) of a table or a list of rows (a history too). */
export function tableView(
  data: Table | readonly Row[],
  opts: { limit?: number; caption?: string } = {},
): { [displaySymbol](): MimeBundle } {
  const limit = opts.limit ?? 20;
  const rows: Row[] = Array.isArray(data)
    ? data instanceof StepHistory
      ? data.slice(0, limit).map(historyRow)
      : data.slice(0, limit)
    : (data as Table)
        .slice(0, limit)
        .toArray()
        .map((r) => r.toJSON() as Row);
  const total = Array.isArray(data) ? data.length : (data as Table).numRows;
  const footer = total > rows.length ? `${rows.length} of ${total} rows` : undefined;
  return { [displaySymbol]: () => rowsBundle(rows, { caption: opts.caption, footer }) };
}
