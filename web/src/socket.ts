// A WebSocket that reconnects by itself with exponential backoff and jitter.
// Pure logic: the WebSocket constructor and the timer functions are injected,
// so Node tests drive it with npm `ws` against real servers.

export type SocketState = 'connecting' | 'open' | 'reconnecting' | 'closed';

// The subset of the WebSocket API used here (browser WebSocket and npm ws
// both satisfy it).
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  onmessage: ((ev: any) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

// Delay before reconnect attempt `attempt` (0-based): base * 2^attempt capped
// at max, with "equal jitter" (half fixed, half random) so that many clients
// dropped together do not come back in lock-step.
export function backoffDelay(attempt: number, baseMs = 250, maxMs = 8000, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

export interface ReconnectingSocketOptions {
  url: string | (() => string);
  factory: WebSocketFactory;
  timers?: Timers;
  baseDelayMs?: number;
  maxDelayMs?: number;
  // A connection that stays open this long resets the backoff.
  stableAfterMs?: number;
  onOpen?: () => void;
  onMessage?: (data: string) => void;
  onState?: (state: SocketState, info: { attempt: number; retryInMs?: number; closeCode?: number; reason?: string }) => void;
  // Return false to stop reconnecting after this close (e.g. 4403 no access).
  shouldReconnect?: (code: number, reason: string) => boolean;
}

// Owns at most one live WebSocket at a time. Messages sent while not open are
// NOT queued: callers resend their state from onOpen (the protocols here are
// resumable), which is what makes reconnect safe.
export class ReconnectingSocket {
  private ws: WebSocketLike | null = null;
  private timer: unknown = null;
  private attempt = 0;
  private openedAt = 0;
  private stopped = false;
  private _state: SocketState = 'closed';

  constructor(private readonly opts: ReconnectingSocketOptions) {}

  get state(): SocketState {
    return this._state;
  }

  get attempts(): number {
    return this.attempt;
  }

  start(): void {
    this.stopped = false;
    if (this.ws || this.timer) return;
    this.connect();
  }

  // Closes for good (no reconnect).
  stop(code = 1000, reason = 'bye'): void {
    this.stopped = true;
    this.clearTimer();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      detach(ws);
      try {
        ws.close(code, reason);
      } catch {
        /* already closed */
      }
    }
    this.setState('closed', {});
  }

  // Reconnects now, skipping any pending backoff (the "Retry now" button).
  retryNow(): void {
    if (this.stopped) this.stopped = false;
    this.clearTimer();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      detach(ws);
      try {
        ws.close(4000, 'retry');
      } catch {
        /* ignore */
      }
    }
    this.connect();
  }

  // Drops the current connection as if the network failed (then reconnects).
  drop(): void {
    if (!this.ws) return;
    const ws = this.ws;
    this.ws = null;
    detach(ws);
    try {
      ws.close(4001, 'dropped');
    } catch {
      /* ignore */
    }
    this.scheduleReconnect(1006, 'dropped');
  }

  // Sends if open; returns false (and drops nothing else) otherwise.
  send(msg: unknown): boolean {
    if (!this.ws || this._state !== 'open' || this.ws.readyState !== 1) return false;
    try {
      this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
      return true;
    } catch {
      return false;
    }
  }

  private timers(): Timers {
    return this.opts.timers ?? realTimers;
  }

  private connect(): void {
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting', { attempt: this.attempt });
    const url = typeof this.opts.url === 'function' ? this.opts.url() : this.opts.url;
    let ws: WebSocketLike;
    try {
      ws = this.opts.factory(url);
    } catch {
      this.scheduleReconnect(1006, 'could not connect');
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.openedAt = this.timers().now();
      this.setState('open', { attempt: this.attempt });
      this.opts.onOpen?.();
    };
    ws.onmessage = (ev: any) => {
      if (this.ws !== ws) return;
      const data = typeof ev.data === 'string' ? ev.data : String(ev.data);
      this.opts.onMessage?.(data);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = (ev: any) => {
      if (this.ws !== ws) return;
      this.ws = null;
      detach(ws);
      this.scheduleReconnect(ev?.code ?? 1006, ev?.reason ?? '');
    };
  }

  private scheduleReconnect(code: number, reason: string): void {
    if (this.stopped) return;
    if (this.opts.shouldReconnect && !this.opts.shouldReconnect(code, reason)) {
      this.stopped = true;
      this.setState('closed', { closeCode: code, reason });
      return;
    }
    const t = this.timers();
    if (this.openedAt && t.now() - this.openedAt >= (this.opts.stableAfterMs ?? 5000)) this.attempt = 0;
    this.openedAt = 0;
    const delay = backoffDelay(this.attempt, this.opts.baseDelayMs, this.opts.maxDelayMs);
    this.attempt++;
    this.setState('reconnecting', { attempt: this.attempt, retryInMs: delay, closeCode: code, reason });
    this.clearTimer();
    this.timer = t.setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      this.timers().clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private setState(s: SocketState, info: { attempt?: number; retryInMs?: number; closeCode?: number; reason?: string }): void {
    this._state = s;
    this.opts.onState?.(s, { attempt: info.attempt ?? this.attempt, ...info });
  }
}

function detach(ws: WebSocketLike): void {
  ws.onopen = ws.onmessage = ws.onclose = null;
  ws.onerror = () => {};
}

// ws:// or wss:// URL for a path on the page's own origin.
export function wsUrl(path: string, loc: { protocol: string; host: string } = location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${path}`;
}
