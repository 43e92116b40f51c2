// process.exit() in a cell would end the kernel and lose every variable. While the kernel runs,
// it throws instead (ending the cell, as IPython's SystemExit does), saying how to restart or
// shut down the kernel; the kernel itself exits through the original function.
export class ProcessExitError extends Error {
  override name = "ProcessExit";
  constructor(readonly exitCode: number | string | null | undefined) {
    super(
      `process.exit(${exitCode ?? ""}) would end the kernel and lose its state, so it was stopped. ` +
        "To restart the kernel: Kernel > Restart (0 0 in command mode). To stop it: Kernel > Shut Down, " +
        "or exit in jupyter-console.",
    );
  }
}

/** Replaces process.exit with the guard; returns the original, for the kernel's own shutdown. */
export function guardProcessExit(): (code?: number) => never {
  const original = process.exit.bind(process) as (code?: number) => never;
  process.exit = ((code?: number | string | null) => {
    throw new ProcessExitError(code);
  }) as typeof process.exit;
  return original;
}
