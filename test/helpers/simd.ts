// Runs a check once per SIMD path this machine supports (native().info().cpu.simdPaths), so every
// path of the CPU kernels (avx512, avx2, portable) meets the same assertions. The path is a
// process-wide setting: the original one is restored afterwards, also when the check throws.
import { native, type SimdPath } from "../../kernel/runtime/native";

/** The SIMD paths this CPU can run, best first. */
export function simdPaths(): SimdPath[] {
  return native().info().cpu.simdPaths;
}

/**
 * Calls check(path) under each supported path in turn. A failure names the path it happened on.
 */
export async function forEachSimdPath(check: (path: SimdPath) => void | Promise<void>): Promise<void> {
  const addon = native(),
    before = addon.info().simd;
  try {
    for (const path of simdPaths()) {
      addon.setSimd(path);
      try {
        await check(path);
      } catch (e) {
        if (e instanceof Error) e.message = `[SIMD path ${path}] ${e.message}`;
        throw e;
      }
    }
  } finally {
    addon.setSimd(before);
  }
}
