// TypeScript cells through tslab's converter (type check, cross-cell declarations, top-level
// await, completion, inspection) and executor, with its console hook turned into structured
// results: the last expression's value, or an error with name/message/traceback.
import * as path from "node:path";
import type { Converter, CompletionInfo } from "tslab/dist/converter";
import type { Executor } from "tslab/dist/executor";
import { installPackageResolution, PACKAGE_NAME } from "./resolve";

export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}

export type CellOutcome = { ok: true; hasValue: boolean; value: unknown } | { ok: false; error: CellError };

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

  constructor(rootDir = process.cwd()) {
    installPackageResolution();
    // tslab's internals load after installPackageResolution() has patched the compiler they use.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
    const { createConverter } = require("tslab/dist/converter") as typeof import("tslab/dist/converter");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
    const { createExecutor } = require("tslab/dist/executor") as typeof import("tslab/dist/executor");
    this.node = createConverter({ isJS: false, isBrowser: false });
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

  /** Runs one cell; the code starts synchronously inside this call (tslab's contract). */
  async execute(code: string): Promise<CellOutcome> {
    this.value = { set: false, v: undefined };
    this.errors = [];
    const ok = await this.executor.execute(code);
    const value = this.value;
    const errors = this.errors;
    if (ok) return { ok: true, hasValue: value.set, value: value.v };
    return { ok: false, error: toCellError(errors) };
  }

  /** Abandons a pending top-level await (the work itself is stopped through the AbortSignal). */
  abandon(): void {
    this.executor.interrupt();
  }

  complete(code: string, cursor: number): CompletionInfo {
    return this.executor.complete(code, cursor);
  }

  inspect(code: string, cursor: number): InspectResult {
    const info = this.executor.inspect(code, cursor);
    if (!info) return { found: false, text: "" };
    const sig = (info.displayParts ?? []).map((p) => p.text).join("");
    const doc = (info.documentation ?? []).map((p) => p.text).join("");
    return { found: sig.length > 0, text: doc ? `${sig}\n\n${doc}` : sig };
  }

  close(): void {
    this.executor.close();
  }
}

/** tslab reports type errors as printf-style diagnostics and exceptions as the thrown value. */
function toCellError(calls: unknown[][]): CellError {
  const diagnostics = calls.filter((a) => typeof a[0] === "string" && a[0].startsWith("%s%d:%d - %s"));
  if (diagnostics.length > 0) {
    const lines = diagnostics.map(
      ([, file, line, col, msg]) => `${String(file)}${String(line)}:${String(col)} - ${String(msg)}`,
    );
    return { ename: "TypeScriptError", evalue: lines[0], traceback: lines };
  }
  const thrown = calls[0]?.[0];
  if (thrown instanceof Error || (typeof thrown === "object" && thrown !== null && "message" in thrown)) {
    const e = thrown as Error;
    const ename = e.name || e.constructor?.name || "Error";
    const stack = typeof e.stack === "string" ? e.stack : `${ename}: ${e.message}`;
    return { ename, evalue: String(e.message), traceback: stack.split("\n") };
  }
  const text = calls.map((a) => a.map(String).join(" ")).join("\n") || "cell failed";
  return { ename: "Error", evalue: typeof thrown === "string" ? thrown : text, traceback: text.split("\n") };
}
