// The running cell, carried through async work with AsyncLocalStorage so that output from timers,
// promises and callbacks started by a cell is attributed to that cell, and long runtime operations
// find the cell's AbortSignal.
import { AsyncLocalStorage } from "node:async_hooks";

export interface CellContext {
  /** Aborted when the user interrupts the cell (signal or interrupt_request). */
  signal: AbortSignal;
  executionCount: number;
}

export type IopubType = "display_data" | "update_display_data" | "clear_output" | "stream";

/** What the kernel attaches to a cell: its context plus a sink for iopub messages parented to it. */
export interface CellScope extends CellContext {
  /** The notebook cell id when the frontend sends one (execute_request metadata.cellId). */
  cellId?: string;
  publish(msgType: IopubType, content: object): void;
}

const storage = new AsyncLocalStorage<CellScope>();

/** The current cell's signal and count; undefined outside the kernel (plain node, CLI). */
export function cellContext(): CellContext | undefined {
  const s = storage.getStore();
  return s && { signal: s.signal, executionCount: s.executionCount };
}

/** The current cell's scope (kernel internals and display functions). */
export function cellScope(): CellScope | undefined {
  return storage.getStore();
}

/** Runs `fn` (and all async work it starts) inside `scope`. */
export function runInCell<T>(scope: CellScope, fn: () => T): T {
  return storage.run(scope, fn);
}
