// Streaming UTF-8 decode over token bytes: TextDecoder's stream mode already holds back a
// partial multi-byte character until its remaining bytes arrive.
import type { StreamDecoder } from "./types";

export function createStreamDecoder(tokenBytes: (id: number) => Uint8Array): StreamDecoder {
  const decoder = new TextDecoder("utf-8");
  return {
    push: (id) => decoder.decode(tokenBytes(id), { stream: true }),
    flush: () => decoder.decode(),
  };
}
