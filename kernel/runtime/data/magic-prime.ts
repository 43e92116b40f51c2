// The LM "magic prime" (docs/spec.md §3.7, §5.2 step 6): the largest prime p < data_size // ctx_len with
// p ≡ 2 (mod 3), so n ↦ n³ mod p permutes the ctx_len-aligned slots of one pass over the data.

export function isPrime(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  if (n % 3 === 0) return n === 3;
  for (let d = 5; d * d <= n; d += 6) if (n % d === 0 || n % (d + 2) === 0) return false;
  return true;
}

/** make_data.py's scan: i from data_size//ctx_len − 1 down; null when data_size < 3·ctx_len (as make_data.py prints nothing). */
export function magicPrime(dataSize: number, ctxLen: number): number | null {
  if (!(ctxLen > 0) || dataSize < 3 * ctxLen) return null;
  for (let i = Math.floor(dataSize / ctxLen) - 1; i >= 2; i--) if (i % 3 === 2 && isPrime(i)) return i;
  return null;
}

/** Token offset of sample number n (1-based, n = 1 + epoch·samples_per_epoch + idx) in the magic-prime scheme. */
export function magicPrimeStart(n: number, prime: number, ctxLen: number, shift = 0): number {
  // φ is computed in float64 exactly as the reference does: int(p * (sqrt(5) - 1) / 2)
  const phi = BigInt(Math.floor(prime * ((Math.sqrt(5) - 1) / 2)));
  const p = BigInt(prime);
  const m = BigInt(n) % p;
  return Number((phi * m * m * m) % p) * ctxLen + shift;
}
