// The kernel: shell/control request handlers, the serial execute queue, output capture with
// per-cell attribution, and interrupts that abort the cell's AbortSignal before abandoning it.
import { isCompleteCode } from "tslab/dist/converter";
import { toBundle } from "../display/bundle";
import { CellScope, cellScope, runInCell } from "../display/context";
import { ChannelName, Channels } from "./channels";
import { CellError, CellExecutor } from "./executor";
import { Message, PROTOCOL_VERSION } from "./wire";

const VERSION: string = (require("../../../package.json") as { version: string }).version;
/** How long an interrupted async cell may take to stop on its own before it is abandoned. */
const ABANDON_AFTER_MS = 1500;

interface ExecuteContent {
  code: string;
  silent?: boolean;
  store_history?: boolean;
}

interface RunningCell {
  scope: CellScope;
  abort: AbortController;
  parent: Message["header"];
}

export interface KernelOptions {
  onExit(code: number): void;
}

export class Kernel {
  private executionCount = 0;
  private queue: Promise<void> = Promise.resolve();
  private running: RunningCell | undefined;
  /** Set by shutdown_request; the process ends once that request's idle status is out. */
  private exiting = false;
  private readonly restoreStreams: () => void;

  constructor(
    private readonly ch: Channels,
    private readonly executor: CellExecutor,
    private readonly opts: KernelOptions,
  ) {
    this.restoreStreams = this.captureStreams();
  }

  handle = (channel: ChannelName, msg: Message): void => {
    const type = msg.header.msg_type;
    if (type === "execute_request") {
      this.queue = this.queue.then(() => this.busy(msg, () => this.execute(channel, msg)));
      return;
    }
    void this.busy(msg, () => this.handleOther(channel, msg)).catch((e: Error) => {
      process.stderr.write(`rwkv-ts: ${type} failed: ${e.stack ?? e.message}\n`);
    });
  };

  private async busy(msg: Message, fn: () => Promise<void>): Promise<void> {
    await this.ch.publish(msg.header, "status", { execution_state: "busy" });
    try {
      await fn();
    } finally {
      await this.ch.publish(msg.header, "status", { execution_state: "idle" });
      if (this.exiting) this.shutdown();
    }
  }

  private async handleOther(channel: ChannelName, msg: Message): Promise<void> {
    const c = msg.content;
    const reply = (type: string, content: object) => this.ch.reply(channel, msg, type, content);
    switch (msg.header.msg_type) {
      case "kernel_info_request":
        return reply("kernel_info_reply", this.kernelInfo());
      case "complete_request": {
        const code = String(c.code ?? ""),
          cursor = Number(c.cursor_pos ?? code.length);
        try {
          const r = this.executor.complete(code, cursor);
          return reply("complete_reply", {
            status: "ok",
            matches: r.candidates,
            cursor_start: r.start,
            cursor_end: r.end,
            metadata: {},
          });
        } catch {
          return reply("complete_reply", {
            status: "ok",
            matches: [],
            cursor_start: cursor,
            cursor_end: cursor,
            metadata: {},
          });
        }
      }
      case "inspect_request": {
        const code = String(c.code ?? "");
        const r = this.executor.inspect(code, Number(c.cursor_pos ?? code.length));
        return reply("inspect_reply", {
          status: "ok",
          found: r.found,
          data: r.found ? { "text/plain": r.text } : {},
          metadata: {},
        });
      }
      case "is_complete_request": {
        const r = isCompleteCode(String(c.code ?? ""));
        return reply(
          "is_complete_reply",
          r.completed ? { status: "complete" } : { status: "incomplete", indent: r.indent ?? "" },
        );
      }
      case "comm_info_request":
        return reply("comm_info_reply", { status: "ok", comms: {} });
      case "history_request":
        return reply("history_reply", { status: "ok", history: [] });
      case "interrupt_request":
        this.interrupt();
        return reply("interrupt_reply", { status: "ok" });
      case "shutdown_request":
        this.exiting = true;
        return reply("shutdown_reply", { status: "ok", restart: Boolean(c.restart) });
      case "comm_open":
      case "comm_msg":
      case "comm_close":
        return; // no comm targets yet
      default:
        process.stderr.write(`rwkv-ts: unhandled ${channel} message ${msg.header.msg_type}\n`);
    }
  }

  private kernelInfo(): object {
    return {
      status: "ok",
      protocol_version: PROTOCOL_VERSION,
      implementation: "rwkv-ts",
      implementation_version: VERSION,
      language_info: {
        name: "typescript",
        version: "5.0",
        mimetype: "text/typescript",
        file_extension: ".ts",
        codemirror_mode: { name: "javascript", typescript: true },
        pygments_lexer: "typescript",
      },
      banner: `rwkv-ts ${VERSION}: TypeScript kernel with the rwkv-notebook runtime preloaded`,
      help_links: [],
    };
  }

  private async execute(channel: ChannelName, msg: Message): Promise<void> {
    const c = msg.content as unknown as ExecuteContent;
    const silent = Boolean(c.silent);
    if (!silent && c.store_history !== false) this.executionCount++;
    const count = this.executionCount;
    if (!silent) await this.ch.publish(msg.header, "execute_input", { code: c.code, execution_count: count });

    const abort = new AbortController();
    const parent = msg.header;
    const scope: CellScope = {
      signal: abort.signal,
      executionCount: count,
      cellId: typeof msg.metadata.cellId === "string" ? msg.metadata.cellId : undefined,
      publish: (type, content) => {
        if (!silent || type !== "stream") void this.ch.publish(parent, type, content);
      },
    };
    this.running = { scope, abort, parent };
    let error: CellError | undefined;
    try {
      const outcome = await runInCell(scope, () => this.executor.execute(c.code));
      if (!outcome.ok) error = outcome.error;
      else if (outcome.hasValue && !silent) {
        const data = runInCell(scope, () => toBundle(outcome.value));
        await this.ch.publish(parent, "execute_result", { execution_count: count, data, metadata: {} });
      }
    } catch (e) {
      error = {
        ename: "KernelError",
        evalue: (e as Error).message,
        traceback: String((e as Error).stack ?? e).split("\n"),
      };
    } finally {
      this.running = undefined;
    }
    if (abort.signal.aborted && error)
      error = { ...error, ename: "KeyboardInterrupt", evalue: `interrupted: ${error.evalue}` };
    if (error) {
      await this.ch.publish(parent, "error", error);
      await this.ch.reply(channel, msg, "execute_reply", { status: "error", execution_count: count, ...error });
    } else {
      await this.ch.reply(channel, msg, "execute_reply", {
        status: "ok",
        execution_count: count,
        payload: [],
        user_expressions: {},
      });
    }
  }

  /**
   * Aborts the running cell's signal so runtime work stops cleanly; a cell still pending after a
   * grace period is abandoned (its later output stays attributed to it). A synchronous loop is
   * broken by SIGINT itself (vm breakOnSigint) and never reaches this.
   */
  interrupt(): void {
    const cell = this.running;
    if (!cell) return;
    cell.abort.abort(new Error("interrupted by the user"));
    setTimeout(() => {
      if (this.running === cell) this.executor.abandon();
    }, ABANDON_AFTER_MS).unref();
  }

  /** Routes process.stdout/stderr writes made inside a cell (or its async work) to iopub streams. */
  private captureStreams(): () => void {
    const patch = (stream: NodeJS.WriteStream, name: "stdout" | "stderr") => {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
        const scope = cellScope() ?? this.running?.scope;
        if (!scope) return original(chunk as string, encoding as BufferEncoding, cb as () => void);
        const text =
          typeof chunk === "string"
            ? chunk
            : Buffer.from(chunk as Uint8Array).toString(
                typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8",
              );
        scope.publish("stream", { name, text });
        const done = typeof encoding === "function" ? encoding : cb;
        if (typeof done === "function") process.nextTick(done as () => void);
        return true;
      }) as typeof stream.write;
      return () => {
        stream.write = original as typeof stream.write;
      };
    };
    const undo = [patch(process.stdout, "stdout"), patch(process.stderr, "stderr")];
    return () => undo.forEach((u) => u());
  }

  shutdown(): void {
    this.restoreStreams();
    this.executor.close();
    this.ch.close();
    this.opts.onExit(0);
  }
}
