// display(x) and friends: send MIME bundles as display_data / update_display_data to the cell
// that is running (or that started the async work calling it).
import { randomUUID } from "node:crypto";
import { MimeBundle, toBundle } from "./bundle";
import { cellScope } from "./context";

export interface DisplayOptions {
  /** Names the output so it can be updated later. */
  displayId?: string;
  /** Replace the output named displayId instead of adding a new one. */
  update?: boolean;
  metadata?: Record<string, unknown>;
}

export interface DisplayHandle {
  readonly displayId: string;
  /** Shows `value` (first call) or replaces the output in place (later calls). */
  update(value: unknown): void;
}

function show(bundle: MimeBundle, opts: DisplayOptions = {}): void {
  const scope = cellScope();
  if (!scope) {
    // Outside a kernel: the text fallback on stdout is the most useful thing to do.
    if (!opts.update) console.log(String(bundle["text/plain"] ?? ""));
    return;
  }
  const content = {
    data: bundle,
    metadata: opts.metadata ?? {},
    transient: opts.displayId ? { display_id: opts.displayId } : {},
  };
  scope.publish(opts.update ? "update_display_data" : "display_data", content);
}

export interface Display {
  (value: unknown, opts?: DisplayOptions): void;
  html(html: string, opts?: DisplayOptions): void;
  markdown(md: string, opts?: DisplayOptions): void;
  json(value: unknown, opts?: DisplayOptions): void;
  /** A bundle given as is (several MIME types in one output). */
  bundle(bundle: MimeBundle, opts?: DisplayOptions): void;
  /** A handle whose output can be updated in place (progress, live charts). */
  handle(): DisplayHandle;
  /**
   * Clears the cell's output so far; with `wait`, only when the next output arrives (no flicker
   * when redrawing). Outside a kernel it does nothing.
   */
  clear(wait?: boolean): void;
}

export const display: Display = Object.assign((value: unknown, opts?: DisplayOptions) => show(toBundle(value), opts), {
  html: (html: string, opts?: DisplayOptions) => show({ "text/html": html, "text/plain": "[HTML]" }, opts),
  markdown: (md: string, opts?: DisplayOptions) => show({ "text/markdown": md, "text/plain": md }, opts),
  json: (value: unknown, opts?: DisplayOptions) =>
    show({ "application/json": value, "text/plain": JSON.stringify(value, null, 2) }, opts),
  bundle: (bundle: MimeBundle, opts?: DisplayOptions) => show(bundle, opts),
  clear: (wait = false) => cellScope()?.publish("clear_output", { wait }),
  handle: (): DisplayHandle => {
    const displayId = randomUUID();
    let shown = false;
    return {
      displayId,
      update(value: unknown) {
        show(toBundle(value), { displayId, update: shown });
        shown = true;
      },
    };
  },
});
