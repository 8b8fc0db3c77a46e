// Client of the runner protocol (docs/protocol-runner.md) over a
// ReconnectingSocket. One run at a time from the IDE (the protocol allows
// more). Pure (no DOM).

import { ReconnectingSocket, type SocketState, type Timers, type WebSocketFactory } from './socket';

export interface RunExit {
  run: string;
  status: string;
  exit_code?: number | null;
  signal?: string | null;
  compile_output?: string;
  compile_cached?: boolean;
  compile_ms?: number;
  cpu_ms?: number;
  wall_ms?: number;
  peak_memory_kb?: number;
  output_truncated?: boolean;
  language?: string;
  entry?: string;
}

export interface RunHandlers {
  onStarted?: (run: string, language: string) => void;
  onCompile?: (data: string, cached: boolean) => void;
  onOutput?: (data: string, stream: string) => void;
  onExit?: (exit: RunExit) => void;
  // A start that failed, or the connection lost mid-run.
  onError?: (code: string, message: string) => void;
}

export interface RunnerClientOptions {
  url: string | (() => string);
  factory: WebSocketFactory;
  timers?: Timers;
  onState?: (state: SocketState, info: { attempt: number; retryInMs?: number }) => void;
}

export interface StartOptions {
  entry: string;
  language?: string;
  args?: string[];
  cols?: number;
  rows?: number;
  tty?: boolean;
}

// Human-readable summary of a run's end, e.g. "exit 0 · 31 ms · 8.0 MB".
export function describeExit(e: RunExit): { ok: boolean; text: string } {
  const parts: string[] = [];
  const ok = e.status === 'ok';
  const labels: Record<string, string> = {
    ok: `exit ${e.exit_code ?? 0}`,
    runtime_error: e.signal ? `killed by ${e.signal}` : `exit ${e.exit_code ?? '?'}`,
    compile_error: 'compile error',
    timed_out: 'time limit exceeded',
    memory_exceeded: 'memory limit exceeded',
    output_exceeded: 'output limit exceeded',
    killed: 'stopped',
  };
  parts.push(labels[e.status] ?? e.status);
  if (typeof e.wall_ms === 'number') parts.push(formatMs(e.wall_ms));
  if (typeof e.peak_memory_kb === 'number' && e.peak_memory_kb > 0) parts.push(formatKb(e.peak_memory_kb));
  return { ok, text: parts.join(' · ') };
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

export function formatKb(kb: number): string {
  return kb < 1024 ? `${kb} KB` : `${(kb / 1024).toFixed(1)} MB`;
}

export class RunnerClient {
  readonly socket: ReconnectingSocket;
  private seq = 0;
  private startId = '';
  private handlers: RunHandlers = {};
  run = '';

  constructor(opts: RunnerClientOptions) {
    this.socket = new ReconnectingSocket({
      url: opts.url,
      factory: opts.factory,
      timers: opts.timers,
      onState: (s, info) => {
        if (s !== 'open' && (this.run || this.startId)) {
          const h = this.handlers;
          this.run = '';
          this.startId = '';
          h.onError?.('disconnected', 'The connection to the runner was lost; the program was stopped.');
        }
        opts.onState?.(s, info);
      },
      onMessage: (d) => this.handle(d),
      shouldReconnect: (code) => !(code === 4401 || code === 4403 || code === 4404),
    });
  }

  start(): void {
    this.socket.start();
  }

  stop(): void {
    this.socket.stop();
  }

  get busy(): boolean {
    return !!(this.run || this.startId);
  }

  // Starts a run; returns false if not connected or a run is active.
  startRun(o: StartOptions, handlers: RunHandlers): boolean {
    if (this.busy) return false;
    const id = `c${++this.seq}`;
    const msg: Record<string, unknown> = {
      type: 'start',
      id,
      language: o.language ?? 'auto',
      entry: o.entry,
      args: o.args ?? [],
      tty: o.tty ?? true,
    };
    if (o.tty ?? true) {
      msg.cols = Math.max(10, Math.min(500, o.cols ?? 80));
      msg.rows = Math.max(4, Math.min(200, o.rows ?? 24));
    }
    if (!this.socket.send(msg)) return false;
    this.startId = id;
    this.handlers = handlers;
    return true;
  }

  stdin(data: string): boolean {
    return !!this.run && this.socket.send({ type: 'stdin', run: this.run, data });
  }

  stdinClose(): boolean {
    return !!this.run && this.socket.send({ type: 'stdin_close', run: this.run });
  }

  resize(cols: number, rows: number): void {
    if (this.run) this.socket.send({ type: 'resize', run: this.run, cols, rows });
  }

  interrupt(): void {
    if (this.run) this.socket.send({ type: 'signal', run: this.run, signal: 'SIGINT' });
  }

  kill(): void {
    if (this.run) this.socket.send({ type: 'kill', run: this.run });
  }

  private handle(data: string): void {
    let m: any;
    try {
      m = JSON.parse(data);
    } catch {
      return;
    }
    if (!m || typeof m !== 'object') return;
    const h = this.handlers;
    switch (m.type) {
      case 'started':
        if (m.id !== this.startId) return;
        this.run = String(m.run);
        h.onStarted?.(this.run, String(m.language ?? ''));
        return;
      case 'compile':
        if (m.run !== this.run) return;
        h.onCompile?.(String(m.data ?? ''), !!m.cached);
        return;
      case 'output':
        if (m.run !== this.run) return;
        h.onOutput?.(String(m.data ?? ''), String(m.stream ?? 'stdout'));
        return;
      case 'exit':
        if (m.run !== this.run) return;
        this.run = '';
        this.startId = '';
        h.onExit?.(m as RunExit);
        return;
      case 'error':
        if (m.id && m.id === this.startId && !this.run) {
          this.startId = '';
          h.onError?.(String(m.code ?? 'error'), String(m.message ?? 'The run could not start'));
        }
        return;
    }
  }
}

// One sentence for a run error code.
export function describeRunError(code: string, message: string): string {
  switch (code) {
    case 'run_limit':
      return 'Run limit reached: too many programs are running in this playground. Wait for one to finish, then try again.';
    case 'unknown_language':
      return `This kind of file cannot be run (${message}).`;
    case 'language_unavailable':
      return `The toolchain for this language is not installed on the server (${message}).`;
    case 'entry_not_found':
      return 'The file to run was not found on the server. Save it first, then run again.';
    case 'limit_exceeded':
      return `A resource limit is over the server's maximum (${message}).`;
    case 'sandbox_failed':
      return `The server could not create a sandbox for the run (${message}).`;
    case 'disconnected':
      return message;
    default:
      return message || code;
  }
}
