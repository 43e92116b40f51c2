// The display protocol: an object shows itself by a method keyed Symbol.for("Jupyter.display")
// that returns a MIME bundle (the same symbol Deno's kernel uses, so objects render in both).
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

/** The bundle for any value: its own protocol method, else util.inspect text. */
export function toBundle(value: unknown): MimeBundle {
  if (isDisplayable(value)) {
    const b = value[displaySymbol]();
    if (typeof b !== "object" || b === null)
      throw new TypeError('Symbol.for("Jupyter.display") must return a MIME bundle object');
    return "text/plain" in b ? b : { "text/plain": plainText(value), ...b };
  }
  return { "text/plain": plainText(value) };
}

function plainText(value: unknown): string {
  return typeof value === "string" ? value : inspect(value, { depth: 4, colors: false, maxArrayLength: 50 });
}
