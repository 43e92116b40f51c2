// One output that updates in place, throttled, ending as the final rendering.
import { MimeBundle, toBundle } from "./bundle";
import { CellScope, cellScope } from "./context";
import { Figure } from "./plotly";
import { randomUUID } from "node:crypto";

export interface LiveView {
  /** Requests a re-render; shown at most once per minIntervalMs (the last request always lands). */
  update(): void;
  /** Renders the final state now and stops. */
  close(): void;
}

export interface LiveViewOptions {
  minIntervalMs?: number;
}

const noop: LiveView = { update() {}, close() {} };

/** Outside a kernel this is a no-op. */
export function liveView(render: () => MimeBundle | Figure, { minIntervalMs = 250 }: LiveViewOptions = {}): LiveView {
  const scope = cellScope();
  if (!scope) return noop;
  const displayId = randomUUID();
  let shown = false,
    closed = false,
    lastAt = 0;
  let timer: NodeJS.Timeout | undefined;

  const emit = (s: CellScope) => {
    const r = render();
    const data = r instanceof Figure ? toBundle(r) : r;
    s.publish(shown ? "update_display_data" : "display_data", {
      data,
      metadata: {},
      transient: { display_id: displayId },
    });
    shown = true;
    lastAt = Date.now();
  };
  const flush = () => {
    timer = undefined;
    if (!closed) emit(scope);
  };
  return {
    update() {
      if (closed || timer) return;
      const wait = lastAt + minIntervalMs - Date.now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    },
    close() {
      if (closed) return;
      if (timer) clearTimeout(timer);
      timer = undefined;
      emit(scope);
      closed = true;
    },
  };
}
