// An append-only typed array that doubles its capacity as it fills: one allocation per doubling
// instead of a JS array of numbers (tens of bytes each) or many small arrays.

export class GrowableArray<T extends Int32Array | Uint8Array> {
  private data: T;
  length = 0;

  constructor(
    private readonly make: (length: number) => T,
    capacity = 1 << 16,
  ) {
    this.data = make(Math.max(16, capacity));
  }

  push(values: ArrayLike<number>): void {
    if (this.length + values.length > this.data.length) {
      const next = this.make(Math.max(2 * this.data.length, this.length + values.length));
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    this.data.set(values, this.length);
    this.length += values.length;
  }

  /** A copy of what was pushed. */
  toArray(): T {
    return this.data.slice(0, this.length) as T;
  }
}
