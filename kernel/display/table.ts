// Tables in a notebook: an Apache Arrow Table (or plain rows) shown as HTML with a text fallback.
import type { Table } from "apache-arrow";
import { displaySymbol, type MimeBundle } from "./bundle";
import { escapeHtml } from "./html";

type Row = Record<string, unknown>;

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
        : String(v);
  return escapeHtml(s).replace(/\n/g, "⏎");
}

/** A displayable view of the first `limit` rows (default 20). */
export function tableView(
  data: Table | Row[],
  opts: { limit?: number; caption?: string } = {},
): { [displaySymbol](): MimeBundle } {
  const limit = opts.limit ?? 20;
  const rows: Row[] = Array.isArray(data)
    ? data.slice(0, limit)
    : data
        .slice(0, limit)
        .toArray()
        .map((r) => r.toJSON() as Row);
  const total = Array.isArray(data) ? data.length : data.numRows;
  const cols = rows.length ? Object.keys(rows[0]) : [];
  return {
    [displaySymbol]: () => ({
      "text/html":
        `<table>${opts.caption ? `<caption>${cell(opts.caption)}</caption>` : ""}` +
        `<thead><tr>${cols.map((c) => `<th>${cell(c)}</th>`).join("")}</tr></thead><tbody>` +
        rows
          .map((r) => `<tr>${cols.map((c) => `<td style="text-align:left">${cell(r[c])}</td>`).join("")}</tr>`)
          .join("") +
        `</tbody></table>${total > rows.length ? `<p>${rows.length} of ${total} rows</p>` : ""}`,
      "text/plain": [cols.join("\t"), ...rows.map((r) => cols.map((c) => cell(r[c])).join("\t"))].join("\n"),
    }),
  };
}
