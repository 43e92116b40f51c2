// The kernel: shell/control request handlers, the serial execute queue (aborted after an error
// when stop_on_error asks for it, as IPython does), output capture with per-cell attribution,
// interrupts that abort the cell's AbortSignal before abandoning it, and the input history.
import { toBundle } from "../display/bundle";
import { CellScope, cellScope, runInCell } from "../display/context";
import { exitCommand, helpQuery, isComplete } from "./cell-syntax";
import { ChannelName, Channels } from "./channels";
import { CellError, CellExecutor, CellFailure } from "./executor";
import { History, toItems } from "./history";
import { ProcessExitError } from "./process-exit";
import { PACKAGE_ROOT } from "./resolve";
import { fullTracebacks, interruptMessage, userTraceback } from "./traceback";
import { Message, PROTOCOL_VERSION } from "./wire";

const VERSION: string = (require("../../../package.json") as { version: string }).version;
/** How long an interrupted async cell may take to stop on its own before it is abandoned. */
const ABANDON_AFTER_MS = 1500;

interface ExecuteContent {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  stop_on_error?: boolean;
}

interface RunningCell {
  scope: CellScope;
  abort: AbortController;
  parent: Message["header"];
}

interface Queued {
  channel: ChannelName;
  msg: Message;
}

/** How a cell ended, for the reply, the history and the queue. */
interface CellEnd {
  error?: CellError;
  /** The user interrupted it (even if it then ended normally, as tuner.run does). */
  interrupted: boolean;
  /** text/plain of its execute_result, for the history. */
  resultText?: string;
  payload: object[];
}

export interface KernelOptions {
  onExit(code: number): void;
  /** Where executed cells are kept across sessions; none: history_request answers []. */
  history?: History;
}

export class Kernel {
  private executionCount = 0;
  private readonly pending: Queued[] = [];
  private draining = false;
  private running: RunningCell | undefined;
  /** Set by shutdown_request; the process ends once that request's idle status is out. */
  private exiting = false;
  private readonly restoreStreams: () => void;
  /** The last error's full traceback, for `%tb`. */
  private lastTraceback: string[] | undefined;
  /** Client sessions that loaded their input history before running anything: terminal consoles. */
  private readonly terminalSessions = new Set<string>();
  private readonly executedSessions = new Set<string>();

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
      this.pending.push({ channel, msg });
      void this.drainQueue();
      return;
    }
    void this.busy(msg, () => this.handleOther(channel, msg)).catch((e: Error) => {
      process.stderr.write(`rwkv-ts: ${type} failed: ${e.stack ?? e.message}\n`);
    });
  };

  /** Runs queued execute requests one at a time, in order of arrival. */
  private async drainQueue(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        const { channel, msg } = next;
        let stop = false;
        await this.busy(msg, async () => {
          stop = await this.execute(channel, msg);
        });
        if (stop) await this.abortQueued();
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * After a failed (or interrupted) cell whose request had stop_on_error: every execute request
   * already received is answered "aborted" without running, as IPython does for Run All. Requests
   * sent later run normally.
   */
  private async abortQueued(): Promise<void> {
    await this.ch.drainShell();
    for (const { channel, msg } of this.pending.splice(0)) {
      await this.busy(msg, () => this.ch.reply(channel, msg, "execute_reply", { status: "aborted" }));
    }
  }

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
        } catch (e) {
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
      case "is_complete_request":
        return reply("is_complete_reply", isComplete(String(c.code ?? "")));
      case "comm_info_request":
        return reply("comm_info_reply", { status: "ok", comms: {} });
      case "history_request":
        return reply("history_reply", { status: "ok", history: this.historyFor(msg) });
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

  private historyFor(msg: Message): unknown[] {
    const c = msg.content as {
      hist_access_type?: string;
      output?: boolean;
      n?: number;
      session?: number;
      start?: number;
      stop?: number;
      pattern?: string;
      unique?: boolean;
    };
    // A client that loads its input history before running anything is a terminal console
    // (jupyter-console, qtconsole); it ignores update_display_data, so it gets text fallbacks.
    if (c.hist_access_type === "tail" && !this.executedSessions.has(msg.header.session))
      this.terminalSessions.add(msg.header.session);
    const h = this.opts.history;
    if (!h) return [];
    const output = Boolean(c.output);
    switch (c.hist_access_type) {
      case "tail":
        return toItems(h.tail(c.n ?? 10), output);
      case "range":
        return toItems(h.range(c.session ?? 0, c.start ?? 1, c.stop ?? undefined), output);
      case "search":
        return toItems(h.search(c.pattern ?? "*", { n: c.n ?? undefined, unique: Boolean(c.unique) }), output);
      default:
        return [];
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
      banner: `rwkv-ts ${VERSION}: TypeScript kernel with the rwkv-notebook runtime preloaded (the global rwkv)`,
      help_links: [],
    };
  }

  /** Runs one execute request; returns whether the queued requests must be aborted. */
  private async execute(channel: ChannelName, msg: Message): Promise<boolean> {
    const c = msg.content as unknown as ExecuteContent;
    const silent = Boolean(c.silent);
    const storeHistory = !silent && c.store_history !== false;
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    if (!silent) {
      this.executedSessions.add(msg.header.session);
      await this.ch.publish(msg.header, "execute_input", { code: c.code, execution_count: count });
    }

    const label = storeHistory ? `In [${count}]` : "a cell run without history";
    const end = (await this.builtin(msg, c.code)) ?? (await this.runCell(msg, c.code, label, count, silent));
    if (storeHistory) this.opts.history?.record(count, c.code, end.resultText);
    if (end.error) {
      await this.ch.publish(msg.header, "error", end.error);
      await this.ch.reply(channel, msg, "execute_reply", { status: "error", execution_count: count, ...end.error });
    } else {
      await this.ch.reply(channel, msg, "execute_reply", {
        status: "ok",
        execution_count: count,
        payload: end.payload,
        user_expressions: {},
      });
    }
    return !silent && c.stop_on_error !== false && (end.error !== undefined || end.interrupted);
  }

  /** Cells the kernel answers itself: `%tb`, IPython's `exit` / `quit` and `name?` help. */
  private async builtin(msg: Message, code: string): Promise<CellEnd | undefined> {
    const asked = helpQuery(code);
    if (asked !== undefined) {
      // The docs go to the frontend's pager (notebook: the panel below; console: the terminal).
      const r = this.executor.inspect(asked, asked.length);
      if (r.found)
        return { interrupted: false, payload: [{ source: "page", data: { "text/plain": r.text }, start: 0 }] };
      await this.ch.publish(msg.header, "stream", { name: "stdout", text: `Object \`${asked}\` not found.\n` });
      return { interrupted: false, payload: [] };
    }
    if (code.trim() === "%tb") {
      const text = this.lastTraceback ? this.lastTraceback.join("\n") : "No traceback available to show.";
      await this.ch.publish(msg.header, "stream", { name: "stdout", text: text + "\n" });
      return { interrupted: false, payload: [] };
    }
    const exit = exitCommand(code);
    if (exit && !this.executor.defines(exit)) {
      // jupyter-console closes and shuts the kernel down on this payload; notebooks ignore it.
      if (!this.terminalSessions.has(msg.header.session)) {
        const text =
          "exit asks a console to close and shut the kernel down; this frontend ignores that.\n" +
          "To stop the kernel: Kernel > Shut Down. To start afresh: Kernel > Restart.\n";
        await this.ch.publish(msg.header, "stream", { name: "stdout", text });
      }
      return { interrupted: false, payload: [{ source: "ask_exit", keepkernel: false }] };
    }
    return undefined;
  }

  private async runCell(msg: Message, code: string, label: string, count: number, silent: boolean): Promise<CellEnd> {
    const abort = new AbortController();
    const parent = msg.header;
    const terminal = this.terminalSessions.has(parent.session);
    /** Last update of each display this cell updated: a terminal shows only the first frame. */
    const updated = new Map<string, Record<string, unknown>>();
    const scope: CellScope = {
      signal: abort.signal,
      executionCount: count,
      cellId: typeof msg.metadata.cellId === "string" ? msg.metadata.cellId : undefined,
      publish: (type, content) => {
        if (silent && type === "stream") return;
        if (terminal && type === "update_display_data") {
          const c = content as { data: Record<string, unknown>; transient?: { display_id?: string } };
          if (c.transient?.display_id) updated.set(c.transient.display_id, c.data);
        }
        void this.ch.publish(parent, type, content);
      },
    };
    this.running = { scope, abort, parent };
    const end: CellEnd = { interrupted: false, payload: [] };
    try {
      const outcome = await runInCell(scope, () => this.executor.execute(code, label));
      end.interrupted = abort.signal.aborted;
      for (const data of updated.values()) {
        if (typeof data["text/plain"] === "string")
          await this.ch.publish(parent, "display_data", { data: { "text/plain": data["text/plain"] }, metadata: {} });
      }
      if (!outcome.ok) end.error = this.shownError(outcome, abort.signal.aborted);
      else if (outcome.hasValue && !silent) {
        const data = runInCell(scope, () => toBundle(outcome.value));
        await this.ch.publish(parent, "execute_result", { execution_count: count, data, metadata: {} });
        if (typeof data["text/plain"] === "string") end.resultText = data["text/plain"];
      }
    } catch (e) {
      const traceback = String((e as Error).stack ?? e).split("\n");
      this.lastTraceback = traceback;
      end.error = { ename: "KernelError", evalue: (e as Error).message, traceback };
    } finally {
      this.running = undefined;
    }
    return end;
  }

  /** The error as the user sees it; the full one is kept for `%tb`. */
  private shownError(f: CellFailure, interrupted: boolean): CellError {
    this.lastTraceback = f.error.traceback;
    if (interrupted) {
      const evalue = interruptMessage(f.thrown);
      return { ename: "KeyboardInterrupt", evalue, traceback: [`KeyboardInterrupt: ${evalue}`] };
    }
    if (f.thrown instanceof ProcessExitError) {
      return { ...f.error, traceback: [`${f.error.ename}: ${f.error.evalue}`] };
    }
    if (f.typeError || fullTracebacks()) return f.error;
    const stack = f.error.traceback.join("\n");
    const cellSource = (file: string) => this.executor.cellSource(file);
    return { ...f.error, traceback: userTraceback(stack, { packageRoot: PACKAGE_ROOT, cellSource }) };
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
