// Option objects are checked where they enter the public API: plain-JS callers (notebook users
// too) get no help from the type checker, so a misspelled key or a wrong type must fail at once
// with an OptionsError naming the key, never later as a NaN deep inside. One spec per function:
// each known key with the check of its values; unknown keys are refused with the closest known one.
import { OptionsError } from "./errors";

/** What is wrong with a value ("must be ..."), or undefined when it is fine. */
export type Check = (value: unknown) => string | undefined;
export type Spec = Record<string, Check>;

const show = (v: unknown): string =>
  typeof v === "string" ? JSON.stringify(v) : typeof v === "function" ? "a function" : String(v);

function range(min: number, max: number, open: { min?: boolean; max?: boolean } = {}): string {
  const inf = (x: number) => !Number.isFinite(x) || Math.abs(x) >= Number.MAX_SAFE_INTEGER;
  if (inf(max)) return `${open.min ? ">" : "≥"} ${min}`;
  if (inf(min)) return `${open.max ? "<" : "≤"} ${max}`;
  return `in ${open.min ? "(" : "["}${min}, ${max}${open.max ? ")" : "]"}`;
}

export const is = {
  /** An integer in [min, max]. */
  int:
    (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Check =>
    (v) =>
      Number.isInteger(v) && (v as number) >= min && (v as number) <= max
        ? undefined
        : `must be an integer ${range(min, max)}`,
  /** A finite number in the range; `open` excludes an end. */
  number:
    (min = -Infinity, max = Infinity, open: { min?: boolean; max?: boolean } = {}): Check =>
    (v) => {
      const x = v as number;
      const ok =
        typeof v === "number" &&
        Number.isFinite(x) &&
        (open.min ? x > min : x >= min) &&
        (open.max ? x < max : x <= max);
      return ok
        ? undefined
        : Number.isFinite(min) || Number.isFinite(max)
          ? `must be ${range(min, max, open)}`
          : "must be a finite number";
    },
  /** One of the given literals. */
  oneOf:
    (...values: readonly unknown[]): Check =>
    (v) =>
      values.includes(v)
        ? undefined
        : `must be ${values
            .map(show)
            .join(", ")
            .replace(/, ([^,]*)$/, " or $1")}`,
  string: ((v) => (typeof v === "string" ? undefined : "must be a string")) as Check,
  boolean: ((v) => (typeof v === "boolean" ? undefined : "must be true or false")) as Check,
  function: ((v) => (typeof v === "function" ? undefined : "must be a function")) as Check,
  signal: ((v) => (v instanceof AbortSignal ? undefined : "must be an AbortSignal")) as Check,
  /** An instance of `cls` (named in the message). */
  instance:
    (cls: abstract new (...args: never[]) => unknown, name = cls.name): Check =>
    (v) =>
      v instanceof cls ? undefined : `must be a ${name}`,
  /** A list whose every item passes `item`. */
  arrayOf:
    (item: Check, what: string): Check =>
    (v) =>
      Array.isArray(v) && v.every((x) => item(x) === undefined) ? undefined : `must be an array of ${what}`,
  /** A plain object whose every value passes `value`. */
  recordOf:
    (value: Check, what: string): Check =>
    (v) =>
      typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => value(x) === undefined)
        ? undefined
        : `must be an object of ${what}`,
  /** Passes when any of the checks passes; the message of the last one otherwise. */
  either:
    (...checks: Check[]): Check =>
    (v) => {
      let why: string | undefined;
      for (const c of checks) if ((why = c(v)) === undefined) return undefined;
      return why;
    },
};

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = d[j];
      d[j] = next;
    }
  }
  return d[b.length];
}

/** The known key a misspelling most likely meant: same letters but case, one inside the other, or a few edits away. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  let best: string | undefined,
    bestD = Infinity;
  for (const c of known) {
    const l = c.toLowerCase();
    const d = l === k ? 0 : l.includes(k) || k.includes(l) ? 1 : distance(k, l);
    if (d < bestD && d <= Math.max(2, Math.floor(Math.max(k.length, l.length) / 3))) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/**
 * Checks an options object against its spec: every key known, every present value passing its
 * check, the `required` keys present. `where` names the function in messages. Undefined values
 * count as absent, so optional keys may be passed through as undefined.
 */
export function checkOptions(where: string, opts: unknown, spec: Spec, required: readonly string[] = []): void {
  if (opts === undefined && required.length === 0) return;
  if (typeof opts !== "object" || opts === null || Array.isArray(opts))
    throw new OptionsError(`${where}: the options must be an object, got ${show(opts)}`, "");
  const known = Object.keys(spec);
  for (const [key, value] of Object.entries(opts)) {
    if (!Object.hasOwn(spec, key)) {
      const near = closestKey(key, known);
      const hint = near ? ` (did you mean ${near}?)` : "";
      throw new OptionsError(`${where}: unknown option '${key}'${hint}; known options: ${known.join(", ")}`, key, near);
    }
    if (value === undefined) continue;
    const why = spec[key](value);
    if (why !== undefined) throw new OptionsError(`${key} ${why}, got ${show(value)}`, key);
  }
  for (const key of required)
    if ((opts as Record<string, unknown>)[key] === undefined)
      throw new OptionsError(`${where}: option '${key}' is required`, key);
}
