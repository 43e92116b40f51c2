// A minimal Jupyter client over ZMQ for the protocol tests: starts `rwkv-nb kernel start` with a
// fresh connection file and sends requests, collecting the iopub messages each one caused.
import { ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as zmq from "zeromq";
import { Message, Signer, decode, encode, newHeader } from "../../kernel/jupyter/wire";

export const ROOT = path.resolve(__dirname, "..", "..", "..");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Reply {
  reply: Message;
  iopub: Message[];
}

export class KernelClient {
  readonly session = randomUUID();
  private readonly signer: Signer;
  private readonly shell = new zmq.Dealer();
  private readonly control = new zmq.Dealer();
  private readonly iopub = new zmq.Subscriber();
  private readonly hb = new zmq.Request();
  private readonly waiting = new Map<string, (m: Message) => void>();
  /** iopub messages by parent msg_id. */
  readonly outputs = new Map<string, Message[]>();
  private idleWaiters = new Map<string, () => void>();
  stderr = "";

  private constructor(
    readonly proc: ChildProcess,
    readonly dir: string,
    key: string,
    private readonly ports: Record<string, number>,
  ) {
    this.signer = new Signer(key);
    proc.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
  }

  /**
   * Starts a kernel in a temp folder. Its Jupyter data dir (the input history) is `dataDir`, or a
   * fresh folder inside the temp one, never the user's.
   */
  static async start(opts: { cwd?: string; dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<KernelClient> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-ts-"));
    const ports = {
      shell_port: await freePort(),
      control_port: await freePort(),
      iopub_port: await freePort(),
      stdin_port: await freePort(),
      hb_port: await freePort(),
    };
    const key = randomBytes(16).toString("hex");
    const file = path.join(dir, "connection.json");
    fs.writeFileSync(
      file,
      JSON.stringify({ ...ports, ip: "127.0.0.1", transport: "tcp", key, signature_scheme: "hmac-sha256" }),
    );
    const proc = spawn(
      process.execPath,
      [path.join(ROOT, "bin", "rwkv-nb.js"), "kernel", "start", "--connection-file", file],
      {
        cwd: opts.cwd ?? dir,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, JUPYTER_DATA_DIR: opts.dataDir ?? path.join(dir, "data"), ...opts.env },
      },
    );
    const c = new KernelClient(proc, dir, key, ports);
    await c.connect();
    return c;
  }

  private async connect(): Promise<void> {
    const url = (p: number) => `tcp://127.0.0.1:${p}`;
    this.shell.connect(url(this.ports.shell_port));
    this.control.connect(url(this.ports.control_port));
    this.iopub.connect(url(this.ports.iopub_port));
    this.iopub.subscribe();
    this.hb.connect(url(this.ports.hb_port));
    void this.read(this.shell);
    void this.read(this.control);
    void this.readIopub();
    // Wait for the kernel: kernel_info until the iopub subscription also delivers (slow joiner).
    for (let i = 0; i < 100; i++) {
      const r = await Promise.race([this.request("kernel_info_request", {}), sleep(500).then(() => undefined)]);
      if (r && r.iopub.length > 0) return;
      if (this.proc.exitCode !== null) throw new Error(`kernel exited: ${this.stderr}`);
    }
    throw new Error(`kernel did not answer: ${this.stderr}`);
  }

  private async read(sock: zmq.Dealer): Promise<void> {
    try {
      for await (const frames of sock) {
        const m = decode(frames, this.signer);
        const id = m.parent_header.msg_id;
        if (id && this.waiting.has(id)) this.waiting.get(id)!(m);
      }
    } catch {
      /* closed */
    }
  }

  private async readIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        const m = decode(frames, this.signer);
        const id = m.parent_header.msg_id ?? "";
        if (!this.outputs.has(id)) this.outputs.set(id, []);
        this.outputs.get(id)!.push(m);
        if (m.header.msg_type === "status" && m.content.execution_state === "idle") this.idleWaiters.get(id)?.();
      }
    } catch {
      /* closed */
    }
  }

  /** Sends a request; resolves with its reply and the iopub messages up to its idle status. */
  async request(
    type: string,
    content: object,
    channel: "shell" | "control" = "shell",
    session: string = this.session,
  ): Promise<Reply> {
    const header = newHeader(type, session);
    const replied = new Promise<Message>((res) => this.waiting.set(header.msg_id, res));
    const idle = new Promise<void>((res) => this.idleWaiters.set(header.msg_id, res));
    await (channel === "shell" ? this.shell : this.control).send(
      encode(
        { identities: [], header, parent_header: {}, metadata: {}, content: content as Record<string, unknown> },
        this.signer,
      ),
    );
    const reply = await replied;
    await idle;
    this.waiting.delete(header.msg_id);
    this.idleWaiters.delete(header.msg_id);
    return { reply, iopub: this.outputs.get(header.msg_id) ?? [] };
  }

  /** Sends without waiting; returns the msg_id and a promise of the full reply. */
  send(type: string, content: object, channel: "shell" | "control" = "shell"): Promise<Reply> {
    return this.request(type, content, channel);
  }

  /** Runs a cell; stop_on_error is off unless asked for, so one test's error never aborts another's cell. */
  execute(
    code: string,
    opts: { stopOnError?: boolean; silent?: boolean; storeHistory?: boolean; session?: string } = {},
  ): Promise<Reply> {
    const content = {
      code,
      silent: opts.silent ?? false,
      store_history: opts.storeHistory ?? true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: opts.stopOnError ?? false,
    };
    return this.request("execute_request", content, "shell", opts.session);
  }

  async heartbeat(timeoutMs = 2000): Promise<boolean> {
    await this.hb.send("ping");
    const r = await Promise.race([this.hb.receive().then(() => true), sleep(timeoutMs).then(() => false)]);
    return r;
  }

  async close(): Promise<void> {
    if (this.proc.exitCode === null) {
      await Promise.race([
        this.request("shutdown_request", { restart: false }, "control").catch(() => undefined),
        sleep(2000),
      ]);
      await Promise.race([new Promise((r) => this.proc.once("exit", r)), sleep(2000)]);
      if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
    }
    for (const s of [this.shell, this.control, this.iopub, this.hb]) s.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Text of all stream messages of one name. */
export function streamText(iopub: Message[], name = "stdout"): string {
  return iopub
    .filter((m) => m.header.msg_type === "stream" && m.content.name === name)
    .map((m) => String(m.content.text))
    .join("");
}

export function types(iopub: Message[]): string[] {
  return iopub.map((m) =>
    m.header.msg_type === "status" ? `status:${String(m.content.execution_state)}` : m.header.msg_type,
  );
}
