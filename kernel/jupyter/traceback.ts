// What a failed cell shows: the error's own lines and the user's frames (cell code, the user's
// modules and packages), with the kernel's and the runtime's internals counted but hidden. The
// full stack stays available through `%tb` or RWKV_TS_TRACEBACK=full.
import * as path from "node:path";

/** The name vm gives code run without a filename: the compiled cell. */
const CELL_FILE = "evalmachine.<anonymous>";

export interface TracebackContext {
  /** The cell's execution count, to name its frames. */
  executionCount: number;
  /** Files under this folder are internals (this package: its dist, its node_modules). */
  packageRoot: string;
}

function isFrame(line: string): boolean {
  return /^\s+at /.test(line);
}

/** Node internals, engine built-ins and files of this package; not what the user wrote. */
function isInternal(frame: string, packageRoot: string): boolean {
  if (frame.includes(CELL_FILE)) return false;
  if (/\(node:|at node:|\(<anonymous>\)|\(native\)|\(index \d+\)/.test(frame)) return true;
  const root = packageRoot.endsWith(path.sep) ? packageRoot : packageRoot + path.sep;
  return frame.includes(root);
}

/**
 * The lines to show for a stack. Cell frames are named `cell[N].js:line:col` (positions in the
 * compiled JavaScript of cell N, whose text the first lines quote when Node has it).
 */
export function userTraceback(stack: string, ctx: TracebackContext): string[] {
  const cellName = `cell[${ctx.executionCount}].js`;
  const lines = stack.split("\n").map((l) => l.split(CELL_FILE).join(cellName));
  const kept: string[] = [];
  let hidden = 0;
  for (const line of lines) {
    if (isFrame(line) && isInternal(line, ctx.packageRoot)) hidden++;
    else kept.push(line);
  }
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
