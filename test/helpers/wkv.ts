// Shared by the WKV operator tests (test/unit/wkv7.test.ts, wkv6.test.ts): every (SIMD path, WKV variant)
// pair this machine can run, and a seeded generator for their random inputs.
import type { NativeAddon, WkvImpl } from "../../kernel/runtime/native";

/** The variants every path must compute alike; "auto" is always one of them. */
export const WKV_IMPLS: readonly WkvImpl[] = ["reference", "sequential", "chunked"];

/** Calls fn once per SIMD path of this CPU and variant, with that path forced; restores the path after. */
export function forEachWkvVariant(A: NativeAddon, fn: (tag: string, impl: WkvImpl) => void): void {
  const before = A.info().simd;
  try {
    for (const path of A.info().cpu.simdPaths) {
      A.setSimd(path);
      for (const impl of WKV_IMPLS) fn(`${path}/${impl}`, impl);
    }
  } finally {
    A.setSimd(before);
  }
}

/** Uniform numbers in [lo, hi) from a fixed linear congruential sequence (reproducible failures). */
export function seededRandom(seed: number): (lo: number, hi: number) => number {
  return (lo, hi) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return lo + (hi - lo) * (seed / 2147483648);
  };
}
