// Progress of long data jobs: events for notebooks (onProgress) and a one-line bar for terminals
// (bytes or tokens, lines, MB/s, ETA), redrawn at most 10 times a second.

export interface DataProgress {
  phase: "tokenize" | "write";
  /** Units done / total in this phase: input bytes (tokenize) or output tokens (write). */
  done: number;
  total: number;
  lines: number;
  docs: number;
  tokens: number;
  elapsedSeconds: number;
  /** Input MB/s (tokenize) or output MB/s (write) in this phase. */
  mbPerSec: number;
  etaSeconds: number | null;
}

/** Rate and ETA of one phase. */
export class PhaseClock {
  private readonly t0 = performance.now();
  elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }
  event(
    phase: DataProgress["phase"],
    done: number,
    total: number,
    bytesDone: number,
    counts: { lines: number; docs: number; tokens: number },
  ): DataProgress {
    const s = this.elapsed();
    const rate = s > 0 ? done / s : 0;
    return {
      phase,
      done,
      total,
      ...counts,
      elapsedSeconds: s,
      mbPerSec: s > 0 ? bytesDone / 1e6 / s : 0,
      etaSeconds: rate > 0 ? (total - done) / rate : null,
    };
  }
}

/**
 * A duration in seconds for people. "clock" (1:05, 1:02:03; "--:--" when unknown) suits progress
 * bars, whose width should not jump; "short" (6s, 3m05s, 1h02m; "?" when unknown) suits titles.
 */
export function formatDuration(seconds: number | null, style: "clock" | "short" = "clock"): string {
  const known = seconds !== null && Number.isFinite(seconds) && seconds >= 0;
  if (!known) return style === "clock" ? "--:--" : "?";
  const t = Math.round(seconds);
  const h = Math.floor(t / 3600),
    m = Math.floor((t % 3600) / 60),
    s = t % 60;
  const two = (n: number): string => String(n).padStart(2, "0");
  if (style === "clock") return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
  return h > 0 ? `${h}h${two(m)}m` : m > 0 ? `${m}m${two(s)}s` : `${s}s`;
}

const fmtMB = (bytes: number): string => (bytes / 1e6).toFixed(1);
const fmtCount = (n: number): string => n.toLocaleString("en-US");

export function formatProgress(p: DataProgress, width = 24): string {
  const f = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const filled = Math.round(f * width);
  const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}%`;
  const amount =
    p.phase === "tokenize"
      ? `${fmtMB(p.done)}/${fmtMB(p.total)} MB  ${fmtCount(p.lines)} lines`
      : `${fmtCount(p.done)}/${fmtCount(p.total)} tokens`;
  return `${p.phase.padEnd(8)} ${bar}  ${amount}  ${p.mbPerSec.toFixed(1)} MB/s  ETA ${formatDuration(p.etaSeconds)}`;
}

/** Draws progress on a terminal stream; does nothing when the stream is not a TTY. */
export class TerminalProgress {
  private last = 0;
  private drawn = false;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(p: DataProgress, force = false): void {
    if (!this.stream.isTTY) return;
    const now = performance.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const cols = this.stream.columns || 100;
    this.stream.write(
      `\r${formatProgress(p)
        .slice(0, cols - 1)
        .padEnd(cols - 1)}`,
    );
    this.drawn = true;
  }

  /** Ends the bar's line so later output starts on a fresh line. */
  end(): void {
    if (this.drawn) this.stream.write("\n");
    this.drawn = false;
  }
}
