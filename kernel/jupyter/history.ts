// The input history behind history_request, kept per user across kernel sessions as IPython keeps
// its own: `<jupyter data dir>/rwkv-ts/history.jsonl`, one JSON line per executed cell
// ({session, line, source, output?}), written when the cell ends. Kernels that run at the same time append under a lock
// file, each session number is taken under that lock, and the file is compacted to its newest
// entries when it grows past a bound. A history that cannot be written never fails a cell.
import * as fs from "node:fs";
import * as path from "node:path";

export interface HistoryEntry {
  session: number;
  line: number;
  source: string;
  /** text/plain of the cell's result, when it had one. */
  output?: string;
}

/** What history_reply carries: [session, line, source] or [session, line, [source, output]]. */
export type HistoryItem = [number, number, string | [string, string | null]];

export interface HistoryOptions {
  /** Compact when the file grows past this many bytes (default 4 MiB)... */
  maxBytes?: number;
  /** ...keeping the newest entries that fit in this many (default half of maxBytes). */
  keepBytes?: number;
  /** How long to wait for another kernel's lock before giving up on one write (ms). */
  lockTimeoutMs?: number;
}

/** Longest source or output text kept per entry: history is for recall, not for archiving data. */
const MAX_TEXT = 100_000;
/** A lock older than this was left by a kernel that died while holding it. */
const STALE_LOCK_MS = 10_000;

export class History {
  readonly file: string;
  private readonly lock: string;
  private readonly maxBytes: number;
  private readonly keepBytes: number;
  private readonly lockTimeoutMs: number;
  /** This kernel's session number, taken at its first write. */
  private session: number | undefined;
  /** A failed write is reported once, not at every cell. */
  private warned = false;

  constructor(dir: string, opts: HistoryOptions = {}) {
    this.file = path.join(dir, "history.jsonl");
    this.lock = `${this.file}.lock`;
    this.maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
    this.keepBytes = opts.keepBytes ?? Math.floor(this.maxBytes / 2);
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 2000;
  }

  /**
   * Appends one executed cell (blank ones are skipped, as IPython does); returns false (and says
   * why on stderr, once) when it could not.
   */
  record(line: number, source: string, output?: string): boolean {
    if (!source.trim()) return true;
    try {
      this.withLock(() => {
        this.session ??= this.lastSession() + 1;
        const entry: HistoryEntry = { session: this.session, line, source: source.slice(0, MAX_TEXT) };
        if (output !== undefined) entry.output = output.slice(0, MAX_TEXT);
        fs.appendFileSync(this.file, JSON.stringify(entry) + "\n");
        if (fs.statSync(this.file).size > this.maxBytes) this.compact();
      });
      return true;
    } catch (e) {
      if (!this.warned) process.stderr.write(`rwkv-ts: history not saved (${this.file}): ${(e as Error).message}\n`);
      this.warned = true;
      return false;
    }
  }

  /** The current session number: the one this kernel writes, or the next free one before it wrote. */
  currentSession(): number {
    return this.session ?? this.lastSession() + 1;
  }

  /** All entries, oldest first. */
  entries(): HistoryEntry[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, "utf8");
    } catch {
      return [];
    }
    return text.split("\n").flatMap((l) => parseEntry(l) ?? []);
  }

  /** The last n entries (IPython: tail). */
  tail(n: number): HistoryEntry[] {
    const all = this.entries();
    return n > 0 ? all.slice(-n) : [];
  }

  /**
   * Lines [start, stop) of one session (stop undefined: to the end). Session 0 is the current
   * one and negative numbers count back from it, as in IPython.
   */
  range(session: number, start = 1, stop?: number): HistoryEntry[] {
    const s = session <= 0 ? this.currentSession() + session : session;
    return this.entries().filter((e) => e.session === s && e.line >= start && (stop === undefined || e.line < stop));
  }

  /**
   * Entries whose whole source matches a glob (`*`, `?`, `[abc]`, `[^abc]`, case-sensitive, as
   * IPython's sqlite GLOB). `unique` keeps each source once, at its latest occurrence; `n` keeps
   * the last n matches.
   */
  search(pattern: string, opts: { n?: number; unique?: boolean } = {}): HistoryEntry[] {
    const re = globToRegExp(pattern);
    let hits = this.entries().filter((e) => re.test(e.source));
    if (opts.unique) {
      const last = new Map<string, HistoryEntry>();
      for (const e of hits) {
        last.delete(e.source);
        last.set(e.source, e);
      }
      hits = [...last.values()];
    }
    return opts.n !== undefined && opts.n !== null ? hits.slice(-Math.max(0, opts.n)) : hits;
  }

  private lastSession(): number {
    let max = 0;
    for (const e of this.entries()) if (e.session > max) max = e.session;
    return max;
  }

  /** Rewrites the file with its newest entries (called with the lock held). */
  private compact(): void {
    const lines = fs.readFileSync(this.file, "utf8").split("\n").filter(parseEntry);
    let bytes = 0,
      from = lines.length;
    while (from > 0 && bytes + Buffer.byteLength(lines[from - 1]) + 1 <= this.keepBytes) {
      bytes += Buffer.byteLength(lines[--from]) + 1;
    }
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, lines.slice(from).join("\n") + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }

  /** Runs fn holding the lock file (created exclusively; a stale one is taken over). */
  private withLock<T>(fn: () => T): T {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      try {
        fs.closeSync(fs.openSync(this.lock, "wx"));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        if (lockAge(this.lock) > STALE_LOCK_MS) fs.rmSync(this.lock, { force: true });
        else if (Date.now() > deadline) throw new Error(`${this.lock} is held by another kernel`);
        else sleepSync(5);
      }
    }
    try {
      return fn();
    } finally {
      fs.rmSync(this.lock, { force: true });
    }
  }
}

function parseEntry(line: string): HistoryEntry | undefined {
  if (!line.trim()) return undefined;
  try {
    const e = JSON.parse(line) as Partial<HistoryEntry>;
    if (!Number.isInteger(e.session) || !Number.isInteger(e.line) || typeof e.source !== "string") return undefined;
    return e as HistoryEntry;
  } catch {
    return undefined; // a line cut short by a crash; the rest of the file is still good
  }
}

function lockAge(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * sqlite GLOB as a RegExp: `*` any text (newlines too), `?` one character, `[...]` a class with
 * `^` negation. Written here because path-glob libraries give `*` and `/` path meanings.
 */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += "[\\s\\S]";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negate = body.startsWith("^");
      if (negate) body = body.slice(1);
      re += `[${negate ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
      i = close;
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** The reply's history list for a request's `output` flag. */
export function toItems(entries: HistoryEntry[], output: boolean): HistoryItem[] {
  return entries.map((e) => [e.session, e.line, output ? [e.source, e.output ?? null] : e.source]);
}
