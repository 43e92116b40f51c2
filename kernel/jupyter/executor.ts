// TypeScript cells through tslab's converter (type check, cross-cell declarations, top-level
// await, completion, inspection) and executor, with its console hook turned into structured
// results: the last expression's value, or an error with name/message/traceback.
import * as path from "node:path";
import type * as vm from "node:vm";
import type { Converter, CompletionInfo } from "tslab/dist/converter";
import type { Executor } from "tslab/dist/executor";
import { calleeAt, expandShorthandProperties, hasTopLevelForAwait } from "./cell-syntax";
import { installPackageResolution, PACKAGE_NAME } from "./resolve";

export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** A failed cell: the error as Jupyter shows it (full traceback) and the thrown value, if any. */
export interface CellFailure {
  ok: false;
  error: CellError;
  /** The exception itself (undefined for type errors). */
  thrown?: unknown;
  /** True when the cell failed type checking (no code ran). */
  typeError: boolean;
}

export type CellOutcome = { ok: true; hasValue: boolean; value: unknown } | CellFailure;

/** A cell's code as written and as it ran, by the file name its frames carry in stacks. */
export interface CellSource {
  /** How the user knows the cell: "In [5]". */
  label: string;
  source: string;
  /** Lines of the compiled JavaScript that ran, wrapper included. */
  compiled: string[];
}

export interface InspectResult {
  found: boolean;
  text: string;
}

// A root file of the checked program that types the preloaded global `rwkv`.
const GLOBALS_MODULE = "__rwkv_notebook_globals__";
const GLOBALS_SOURCE =
  `import type * as rwkvNotebook from "${PACKAGE_NAME}";\n` +
  "declare global {\n  /** The rwkv-notebook runtime, preloaded by the kernel. */\n" +
  "  var rwkv: typeof rwkvNotebook;\n}\n";

export class CellExecutor {
  private readonly executor: Executor;
  private readonly node: Converter;
  private value: { set: boolean; v: unknown } = { set: false, v: undefined };
  private errors: unknown[][] = [];
  private readonly sources = new Map<string, CellSource>();

  constructor(rootDir = process.cwd()) {
    installPackageResolution();
    // tslab's internals load after installPackageResolution() has patched the compiler they use.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
    const { createConverter } = require("tslab/dist/converter") as typeof import("tslab/dist/converter");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
    const { createExecutor } = require("tslab/dist/executor") as typeof import("tslab/dist/executor");
    this.node = withCellFixes(createConverter({ isJS: false, isBrowser: false }));
    const diags = this.node.addModule(GLOBALS_MODULE, GLOBALS_SOURCE);
    if (diags.length > 0)
      process.stderr.write(`rwkv-ts: globals typing: ${diags.map((d) => d.messageText).join("; ")}\n`);
    let browser: Converter | undefined;
    const node = this.node;
    const convs = {
      node,
      get browser(): Converter {
        return (browser ??= createConverter({ isJS: false, isBrowser: true }));
      },
      close() {
        node.close();
        browser?.close();
      },
    };
    this.executor = createExecutor(path.resolve(rootDir), convs, {
      log: (v: unknown) => {
        this.value = { set: true, v };
      },
      error: (...args: unknown[]) => {
        this.errors.push(args);
      },
    });
  }

  /**
   * Runs one cell; the code starts synchronously inside this call (tslab's contract). Its stack
   * frames name the file `In[5]` for the label "In [5]" (see cellSource).
   */
  async execute(code: string, label = "cell"): Promise<CellOutcome> {
    this.value = { set: false, v: undefined };
    this.errors = [];
    let file = label.replace(/\s+/g, "");
    for (let i = 2; this.sources.has(file); i++) file = `${label.replace(/\s+/g, "")}.${i}`;
    const running = nameNextScript(file, (compiled) =>
      this.sources.set(file, { label, source: code, compiled: compiled.split("\n") }),
    );
    let pending: Promise<boolean>;
    try {
      pending = this.executor.execute(code);
    } finally {
      running.done();
    }
    const ok = await pending;
    const value = this.value;
    const errors = this.errors;
    if (ok) return { ok: true, hasValue: value.set, value: value.v };
    return toFailure(errors);
  }

  /** The cell whose code ran under this file name, if any. */
  cellSource(file: string): CellSource | undefined {
    return this.sources.get(file);
  }

  /** Names the cell defined (and `exit`, `quit` are user variables when defined). */
  defines(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.executor.locals, name);
  }

  /** Abandons a pending top-level await (the work itself is stopped through the AbortSignal). */
  abandon(): void {
    this.executor.interrupt();
  }

  complete(code: string, cursor: number): CompletionInfo {
    return this.executor.complete(code, cursor);
  }

  /** What is at the cursor; inside a call's parentheses, the signature of the call being written. */
  inspect(code: string, cursor: number): InspectResult {
    const callee = calleeAt(code, cursor);
    const info = (callee !== undefined && this.executor.inspect(code, callee)) || this.executor.inspect(code, cursor);
    if (!info) return { found: false, text: "" };
    const sig = (info.displayParts ?? []).map((p) => p.text).join("");
    const doc = (info.documentation ?? []).map((p) => p.text).join("");
    return { found: sig.length > 0, text: doc ? `${sig}\n\n${doc}` : sig };
  }

  close(): void {
    this.executor.close();
  }
}

/**
 * Gives the next script vm runs (tslab's executor compiles the cell with vm.runInThisContext and
 * no file name: every cell would be "evalmachine.<anonymous>") a file name, and reports its code.
 */
function nameNextScript(filename: string, onCode: (code: string) => void): { done(): void } {
  // The module object itself (tslab calls through it), not an import's read-only copy.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the mutable module object, see above
  const vmModule = require("node:vm") as { runInThisContext: typeof vm.runInThisContext };
  const original = vmModule.runInThisContext;
  const restore = () => {
    vmModule.runInThisContext = original;
  };
  vmModule.runInThisContext = ((code: string, options?: vm.RunningScriptOptions | string) => {
    restore();
    onCode(code);
    return original(code, typeof options === "string" ? options : { filename, ...options });
  }) as typeof vm.runInThisContext;
  return { done: restore };
}

/**
 * What tslab's converter misses: shorthand properties of earlier cells' names (expanded first), and
 * a top-level `for await`, which needs the async wrapper tslab gives only to a top-level `await`
 * expression, or Node rejects it ("Unexpected reserved word").
 */
function withCellFixes(conv: Converter): Converter {
  return {
    ...conv,
    convert(prevDecl, src) {
      const r = conv.convert(prevDecl, expandShorthandProperties(src));
      if (r.output && !r.hasToplevelAwait && hasTopLevelForAwait(src)) r.hasToplevelAwait = true;
      return r;
    },
  };
}

/** tslab reports type errors as printf-style diagnostics and exceptions as the thrown value. */
function toFailure(calls: unknown[][]): CellFailure {
  const diagnostics = calls.filter((a) => typeof a[0] === "string" && a[0].startsWith("%s%d:%d - %s"));
  if (diagnostics.length > 0) {
    const lines = diagnostics.map(
      ([, file, line, col, msg]) => `${String(file)}${String(line)}:${String(col)} - ${String(msg)}`,
    );
    return { ok: false, typeError: true, error: { ename: "TypeScriptError", evalue: lines[0], traceback: lines } };
  }
  const thrown = calls[0]?.[0];
  if (thrown instanceof Error || (typeof thrown === "object" && thrown !== null && "message" in thrown)) {
    const e = thrown as Error;
    const ename = e.name || e.constructor?.name || "Error";
    const stack = typeof e.stack === "string" ? e.stack : `${ename}: ${e.message}`;
    return {
      ok: false,
      typeError: false,
      thrown,
      error: { ename, evalue: String(e.message), traceback: stack.split("\n") },
    };
  }
  const text = calls.map((a) => a.map(String).join(" ")).join("\n") || "cell failed";
  const evalue = typeof thrown === "string" ? thrown : text;
  return { ok: false, typeError: false, thrown, error: { ename: "Error", evalue, traceback: text.split("\n") } };
}
