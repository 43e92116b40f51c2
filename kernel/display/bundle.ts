// The display protocol: an object shows itself by a method keyed Symbol.for("Jupyter.display")
// that returns a MIME bundle (the same symbol Deno's kernel uses, so objects render in both).
// Classes that know nothing of displays (the runtime's State, Model) get a formatter registered
// for them from the display layer instead. This file imports nothing of ours: both sides share it.
import { inspect } from "node:util";

export const displaySymbol: unique symbol = Symbol.for("Jupyter.display") as never;

/** MIME type → data; "text/plain" should always be present as the fallback. */
export type MimeBundle = Record<string, unknown>;

export interface Displayable {
  [displaySymbol](): MimeBundle;
}

export function isDisplayable(value: unknown): value is Displayable {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as Partial<Displayable>)[displaySymbol] === "function"
  );
}

const formatters = new Map<object, (value: never) => MimeBundle>();

/** Shows instances of `cls` (and its subclasses) with `format`; a later registration replaces an earlier one. */
export function registerFormatter<T>(cls: { prototype: T }, format: (value: T) => MimeBundle): void {
  formatters.set(cls.prototype as object, format as (value: never) => MimeBundle);
}

function formatterFor(value: object): ((value: never) => MimeBundle) | undefined {
  for (
    let p = Object.getPrototypeOf(value) as object | null;
    p !== null;
    p = Object.getPrototypeOf(p) as object | null
  ) {
    const f = formatters.get(p);
    if (f) return f;
  }
  return undefined;
}

/** The bundle for any value: its own protocol method, else a registered formatter, else util.inspect text. */
export function toBundle(value: unknown): MimeBundle {
  const own = isDisplayable(value) ? () => value[displaySymbol]() : undefined;
  const registered = !own && typeof value === "object" && value !== null ? formatterFor(value) : undefined;
  const make = own ?? (registered && (() => registered(value as never)));
  if (!make) return { "text/plain": plainText(value) };
  const b = make();
  if (typeof b !== "object" || b === null)
    throw new TypeError('Symbol.for("Jupyter.display") must return a MIME bundle object');
  return "text/plain" in b ? b : { "text/plain": plainText(value), ...b };
}

function plainText(value: unknown): string {
  return typeof value === "string" ? value : inspect(value, { depth: 4, colors: false, maxArrayLength: 50 });
}
