// UTF-8 helpers on plain Uint8Arrays (Buffer is fast but its @types/node 20 typing does not
// assign to Uint8Array under TS 5.9, so views are re-wrapped here).

export function utf8Encode(text: string): Uint8Array {
  const b = Buffer.from(text, "utf8");
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

export function utf8Decode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("utf8");
}
