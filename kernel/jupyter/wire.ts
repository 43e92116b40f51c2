// Jupyter wire protocol 5.3: message shape, multipart framing and HMAC-SHA256 signing.
import * as crypto from "node:crypto";

export const PROTOCOL_VERSION = "5.3";
const DELIMITER = "<IDS|MSG>";

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface Message<C = Record<string, unknown>> {
  /** ZMQ routing identities of the sender (shell/control/stdin); reused for the reply. */
  identities: Buffer[];
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

export class Signer {
  constructor(
    private readonly key: string,
    private readonly scheme = "hmac-sha256",
  ) {
    if (key && scheme !== "hmac-sha256") throw new Error(`unsupported signature_scheme '${scheme}' (only hmac-sha256)`);
  }

  sign(parts: Buffer[]): string {
    if (!this.key) return "";
    const h = crypto.createHmac("sha256", this.key);
    for (const p of parts) h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    return h.digest("hex");
  }

  verify(signature: string, parts: Buffer[]): boolean {
    if (!this.key) return true;
    const want = Buffer.from(this.sign(parts), "utf8");
    const got = Buffer.from(signature, "utf8");
    return want.length === got.length && crypto.timingSafeEqual(new Uint8Array(want), new Uint8Array(got));
  }
}

export function newHeader(msgType: string, session: string): Header {
  return {
    msg_id: crypto.randomUUID(),
    session,
    username: "kernel",
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

/** Encodes a message into frames: identities, delimiter, signature, four JSON parts, buffers. */
export function encode(msg: Omit<Message, "buffers"> & { buffers?: Buffer[] }, signer: Signer): Buffer[] {
  const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((p) =>
    Buffer.from(JSON.stringify(p), "utf8"),
  );
  return [...msg.identities, Buffer.from(DELIMITER), Buffer.from(signer.sign(parts)), ...parts, ...(msg.buffers ?? [])];
}

/** Decodes frames; throws with a reason for malformed or wrongly signed messages. */
export function decode(frames: Buffer[], signer: Signer): Message {
  const d = frames.findIndex((f) => f.length === DELIMITER.length && f.toString() === DELIMITER);
  if (d < 0) throw new Error("message without <IDS|MSG> delimiter");
  if (frames.length < d + 6) throw new Error(`message has ${frames.length - d - 1} parts after the delimiter, need 5`);
  const parts = frames.slice(d + 2, d + 6);
  if (!signer.verify(frames[d + 1].toString(), parts)) throw new Error("invalid message signature");
  const [header, parent, metadata, content] = parts.map((p) => JSON.parse(p.toString("utf8")) as unknown);
  return {
    identities: frames.slice(0, d),
    header: header as Header,
    parent_header: parent as Partial<Header>,
    metadata: metadata as Record<string, unknown>,
    content: content as Record<string, unknown>,
    buffers: frames.slice(d + 6),
  };
}
