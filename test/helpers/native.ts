// The native addon for tests that call one of its bindings directly: the addon when it is built
// and has the binding, else the reason to skip.
import { native, type NativeAddon } from "../../kernel/runtime/native";

export function addonWith(binding: keyof NativeAddon): { addon: NativeAddon | undefined; skip: string | false } {
  let a: NativeAddon | undefined;
  try {
    a = native();
  } catch {
    a = undefined;
  }
  const ok = a !== undefined && typeof a[binding] === "function";
  return { addon: ok ? a : undefined, skip: ok ? false : `the native addon (with ${String(binding)}) is not built` };
}
