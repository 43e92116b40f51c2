// The five kernel sockets from a connection file, with serialized sends (zeromq 6 allows one
// pending send per socket) and signed message framing.
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as zmq from "zeromq";
import { Message, Signer, decode, encode, newHeader } from "./wire";

export interface ConnectionInfo {
  transport: string;
  ip: string;
  key: string;
  signature_scheme: string;
  shell_port: number;
  control_port: number;
  iopub_port: number;
  stdin_port: number;
  hb_port: number;
}

export function readConnectionFile(file: string): ConnectionInfo {
  let info: Partial<ConnectionInfo>;
  try {
    info = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<ConnectionInfo>;
  } catch (e) {
    throw new Error(`cannot read connection file ${file}: ${(e as Error).message}`);
  }
  for (const k of ["ip", "shell_port", "control_port", "iopub_port", "stdin_port", "hb_port"] as const) {
    if (info[k] === undefined) throw new Error(`connection file ${file} lacks key '${k}'`);
  }
  return { transport: "tcp", key: "", signature_scheme: "hmac-sha256", ...info } as ConnectionInfo;
}

/** Serializes sends on one socket. */
class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly socket: zmq.Writable) {}
  send(frames: Buffer[]): Promise<void> {
    this.tail = this.tail
      .then(() => this.socket.send(frames))
      .catch((e: Error) => {
        process.stderr.write(`rwkv-ts: send failed: ${e.message}\n`);
      });
    return this.tail;
  }
}

export type ChannelName = "shell" | "control";
export type Handler = (channel: ChannelName, msg: Message) => void;

export class Channels {
  readonly session = randomUUID();
  private readonly signer: Signer;
  private readonly shell = new zmq.Router();
  private readonly control = new zmq.Router();
  private readonly stdin = new zmq.Router();
  private readonly iopub = new zmq.Publisher();
  private readonly hb = new zmq.Reply();
  private readonly queues: Record<"shell" | "control" | "iopub", SendQueue>;

  constructor(private readonly info: ConnectionInfo) {
    this.signer = new Signer(info.key, info.signature_scheme);
    this.queues = {
      shell: new SendQueue(this.shell),
      control: new SendQueue(this.control),
      iopub: new SendQueue(this.iopub),
    };
  }

  private url(port: number): string {
    return this.info.transport === "ipc" ? `ipc://${this.info.ip}-${port}` : `tcp://${this.info.ip}:${port}`;
  }

  async bind(handler: Handler): Promise<void> {
    const i = this.info;
    await Promise.all([
      this.shell.bind(this.url(i.shell_port)),
      this.control.bind(this.url(i.control_port)),
      this.stdin.bind(this.url(i.stdin_port)),
      this.iopub.bind(this.url(i.iopub_port)),
      this.hb.bind(this.url(i.hb_port)),
    ]);
    void this.pump("shell", this.shell, handler);
    void this.pump("control", this.control, handler);
    void this.heartbeat();
  }

  private async pump(name: ChannelName, socket: zmq.Router, handler: Handler): Promise<void> {
    for await (const frames of socket) {
      let msg: Message;
      try {
        msg = decode(frames, this.signer);
      } catch (e) {
        process.stderr.write(`rwkv-ts: dropped ${name} message: ${(e as Error).message}\n`);
        continue;
      }
      handler(name, msg);
    }
  }

  /**
   * Resolves once the messages already waiting on the shell socket have been handed to the
   * handler (after a synchronous cell, some may not have been read yet).
   */
  async drainShell(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      await new Promise((r) => setImmediate(r));
      if (!this.shell.readable) return;
    }
  }

  private async heartbeat(): Promise<void> {
    for await (const frames of this.hb) await this.hb.send(frames);
  }

  /** Replies on the channel the request came from, to the same identities. */
  reply(channel: ChannelName, parent: Message, msgType: string, content: object, metadata: object = {}): Promise<void> {
    return this.queues[channel].send(
      encode(
        {
          identities: parent.identities,
          header: newHeader(msgType, this.session),
          parent_header: parent.header,
          metadata: metadata as Record<string, unknown>,
          content: content as Record<string, unknown>,
        },
        this.signer,
      ),
    );
  }

  publish(
    parentHeader: Message["parent_header"],
    msgType: string,
    content: object,
    metadata: object = {},
  ): Promise<void> {
    return this.queues.iopub.send(
      encode(
        {
          identities: [Buffer.from(msgType)],
          header: newHeader(msgType, this.session),
          parent_header: parentHeader,
          metadata: metadata as Record<string, unknown>,
          content: content as Record<string, unknown>,
        },
        this.signer,
      ),
    );
  }

  close(): void {
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) s.close();
  }
}
