// What a failed cell shows: the error's message and the user's frames (cells, the user's own
// modules and packages), each cell frame with its line of code, while the kernel's and the
// runtime's internals are counted but hidden. The full stack stays available through `%tb` or
// RWKV_TS_TRACEBACK=full.
import * as path from "node:path";
import type { CellSource } from "./executor";

export interface TracebackContext {
  /** Files under this folder are internals (this package: its dist, its node_modules). */
  packageRoot: string;
  /** The cell that ran under a file name (`In[5]`), if it is one. */
  cellSource(file: string): CellSource | undefined;
}

/** `    at fn (file:line:col)` or `    at file:line:col`, optionally `async`. */
const FRAME = /^\s+at (?:async )?(?:(.*?) \((.+?):(\d+):(\d+)\)|(.+?):(\d+):(\d+))$/;

interface Frame {
  fn?: string;
  file: string;
  line: number;
}

function parseFrame(line: string): Frame | undefined {
  const m = FRAME.exec(line);
  if (!m) return undefined;
  return m[2] !== undefined ? { fn: m[1], file: m[2], line: Number(m[3]) } : { file: m[5], line: Number(m[6]) };
}

function isFrame(line: string): boolean {
  return /^\s+at /.test(line);
}

/** Node internals, engine built-ins and files of this package; not what the user wrote. */
function isInternal(frame: string, packageRoot: string): boolean {
  if (/\(node:|at node:|\(<anonymous>\)|\(native\)|\(index \d+\)/.test(frame)) return true;
  const root = packageRoot.endsWith(path.sep) ? packageRoot : packageRoot + path.sep;
  return frame.includes(root);
}

/**
 * A compiled line as the user would recognise it: without tslab's wrapper, `exports.` (names
 * from earlier cells), the result variable, and CommonJS import aliases (`(0, mod_1.f)`, `mod_1.`).
 */
function plain(line: string): string {
  return line
    .replace(/^\((async )?function\(exports, require\) \{ /, "")
    .replace(/\bexports\.tsLastExpr\d* = /, "")
    .replace(/\bexports\./g, "")
    .replace(/\(0, [\w$]+_\d+\.([\w$]+)\)/g, "$1")
    .replace(/\b[\w$]+_\d+\.(?=[\w$])/g, "")
    .trim()
    .replace(/;$/, "");
}

const words = (s: string): string[] => s.match(/[\w$]+/g) ?? [];

/** Whether `sub` appears in `all` in order (type annotations only add words to a line). */
function isSubsequence(sub: string[], all: string[]): boolean {
  let i = 0;
  for (const w of all) if (i < sub.length && w === sub[i]) i++;
  return i === sub.length;
}

/**
 * The user's line for a compiled line: the only source line that is its text, else the only one
 * that contains its text, else the only one that contains its words in order (the compiled line
 * lacks the types), else none. The text shown is the user's line, or the compiled one.
 */
export function sourceLine(cell: CellSource, compiledLine: number): { line?: number; text: string } {
  const compiled = plain(cell.compiled[compiledLine - 1] ?? "");
  if (!compiled) return { text: "" };
  const lines = cell.source.split("\n");
  const only = (hits: number[]) => (hits.length === 1 ? { line: hits[0] + 1, text: lines[hits[0]].trim() } : undefined);
  const w = words(compiled);
  return (
    only(lines.flatMap((l, i) => (l.trim().replace(/;$/, "") === compiled ? [i] : []))) ??
    only(lines.flatMap((l, i) => (l.includes(compiled) ? [i] : []))) ??
    (w.length > 0 ? only(lines.flatMap((l, i) => (isSubsequence(w, words(l)) ? [i] : []))) : undefined) ?? {
      text: compiled,
    }
  );
}

function cellFrame(frame: Frame, cell: CellSource): string[] {
  const { line, text } = sourceLine(cell, frame.line);
  const where = line === undefined ? cell.label : `${cell.label}, line ${line}`;
  // Functions from earlier cells are called through tslab's exports Proxy: "Proxy.f".
  const fn = frame.fn?.replace(/^Proxy\./, "");
  const head = fn ? `    at ${fn} (${where})` : `    at ${where}`;
  return text ? [head, `        ${text}`] : [head];
}

/**
 * The lines to show for a stack. Node's own header (`file:line`, the code, a caret) for code that
 * failed while compiling or at the throw is kept for a cell only when no cell frame says where,
 * and for a user's module; internals' headers are dropped.
 */
export function userTraceback(stack: string, ctx: TracebackContext): string[] {
  let lines = stack.split("\n");
  let header: string[] = [];
  const first = /^(.+):(\d+)$/.exec(lines[0] ?? "");
  const blank = lines.indexOf("");
  if (first && blank > 0) {
    const cell = ctx.cellSource(first[1]);
    if (cell) {
      const { line } = sourceLine(cell, Number(first[2]));
      header = [line === undefined ? cell.label : `${cell.label}, line ${line}`, ...lines.slice(1, blank + 1)];
    } else if (!first[1].startsWith("<") && !isInternal(`(${first[1]})`, ctx.packageRoot)) {
      header = lines.slice(0, blank + 1);
    }
    lines = lines.slice(blank + 1);
  }
  const kept: string[] = [];
  let hidden = 0,
    cellFrames = 0;
  for (const line of lines) {
    if (!isFrame(line)) {
      kept.push(line);
      continue;
    }
    const frame = parseFrame(line);
    const cell = frame && ctx.cellSource(frame.file);
    // The cell's last compiled line is tslab's wrapper calling the cell: not the user's.
    if (cell && frame.line < cell.compiled.length) {
      kept.push(...cellFrame(frame, cell));
      cellFrames++;
    } else if (cell || isInternal(line, ctx.packageRoot)) hidden++;
    else kept.push(line);
  }
  if (cellFrames === 0) kept.unshift(...header);
  if (hidden > 0) kept.push(`(${hidden} internal frame${hidden === 1 ? "" : "s"} hidden: run %tb to see them)`);
  return kept;
}

/** Whether tracebacks are shown in full (RWKV_TS_TRACEBACK=full), for debugging the kernel. */
export function fullTracebacks(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.RWKV_TS_TRACEBACK === "full";
}

/**
 * The message of an interrupted cell. A runtime step that was cancelled says which one it was
 * (an AbortError carrying `step`, the 1-based step number), so the user knows nothing changed.
 */
export function interruptMessage(thrown: unknown): string {
  const step = (thrown as { step?: unknown } | undefined)?.step;
  if (typeof step === "number" && Number.isInteger(step)) return `step ${step} cancelled, state unchanged`;
  return "interrupted by the user";
}
