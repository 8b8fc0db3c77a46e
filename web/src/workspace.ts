// Client of the workspace server protocol (docs/protocol-workspace.md) over a
// ReconnectingSocket: request/reply by id, file-tree events, and routing of
// document messages to the open documents. Pure (no DOM).

import { ReconnectingSocket, realTimers, type SocketState, type Timers, type WebSocketFactory } from './socket';
import type { FileEntry } from './api';

export interface WsError {
  code: string;
  message: string;
}

export class RequestError extends Error {
  constructor(
    public readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export interface FsChange {
  op: 'upsert' | 'delete';
  path: string;
  entry?: FileEntry;
}

// A document endpoint registered with the client (CollabDoc implements it).
export interface DocSink {
  readonly path: string;
  // Called on every (re)connect, after hello: the sink sends its `open`.
  onConnected(client: WorkspaceClient, sameSession: boolean): void;
  onDisconnected(): void;
  onMessage(msg: any): void;
}

export interface WorkspaceClientOptions {
  url: string | (() => string);
  factory: WebSocketFactory;
  timers?: Timers;
  name?: string;
  color?: string;
  onState?: (state: SocketState, info: { attempt: number; retryInMs?: number; closeCode?: number }) => void;
  onTree?: (entries: FileEntry[]) => void;
  onFs?: (changes: FsChange[]) => void;
  onError?: (err: WsError) => void;
  requestTimeoutMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

interface Pending {
  resolve: (v: any) => void;
  reject: (e: Error) => void;
  timer: unknown;
}

export class WorkspaceClient {
  readonly socket: ReconnectingSocket;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private docs = new Map<string, DocSink>();
  private docIds = new Map<number, DocSink>();
  private lastClient = -1;
  private session = '';
  clientNumber = -1;
  limits: Record<string, number> = {};
  name: string;
  color: string;

  constructor(private readonly opts: WorkspaceClientOptions) {
    this.name = opts.name ?? 'guest';
    this.color = opts.color ?? '#888888';
    this.socket = new ReconnectingSocket({
      url: opts.url,
      factory: opts.factory,
      timers: opts.timers,
      baseDelayMs: opts.baseDelayMs,
      maxDelayMs: opts.maxDelayMs,
      onState: (s, info) => {
        if (s !== 'open') this.failPending('disconnected', 'The connection to the workspace was lost');
        if (s === 'reconnecting' || s === 'closed') for (const d of this.docs.values()) d.onDisconnected();
        opts.onState?.(s, info);
      },
      onMessage: (data) => this.handle(data),
      // 4401/4403/4404: the hub refuses us; do not hammer it.
      shouldReconnect: (code) => !(code === 4401 || code === 4403 || code === 4404 || code === 1008),
    });
  }

  start(): void {
    this.socket.start();
  }

  stop(): void {
    this.socket.stop();
  }

  get connected(): boolean {
    return this.socket.state === 'open' && this.clientNumber >= 0;
  }

  // Sends a request and resolves with its reply (rejects with RequestError on
  // an `error` reply or when the connection drops first).
  request<T = any>(msg: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (!this.connected) {
        reject(new RequestError('disconnected', 'Not connected to the workspace'));
        return;
      }
      const timers = this.opts.timers ?? realTimers;
      const timer = timers.setTimeout(() => {
        if (this.pending.delete(id)) reject(new RequestError('timeout', 'The workspace did not answer in time'));
      }, this.opts.requestTimeoutMs ?? 15000);
      this.pending.set(id, { resolve, reject, timer });
      if (!this.socket.send({ ...msg, id })) {
        this.pending.delete(id);
        timers.clearTimeout(timer);
        reject(new RequestError('disconnected', 'Not connected to the workspace'));
      }
    });
  }

  // Fire-and-forget (presence, push handled by the doc).
  send(msg: Record<string, unknown>): boolean {
    return this.socket.send(msg);
  }

  // Sends a document request whose reply (same id) goes to `doc.onMessage`.
  // Returns the id, or -1 when offline.
  sendFor(doc: DocSink, msg: Record<string, unknown>): number {
    const id = this.nextId++;
    if (!this.socket.send({ ...msg, id })) return -1;
    this.docIds.set(id, doc);
    return id;
  }

  attach(doc: DocSink): void {
    this.docs.set(doc.path, doc);
    if (this.connected) doc.onConnected(this, true);
  }

  detach(doc: DocSink, sendClose = true): void {
    if (this.docs.get(doc.path) !== doc) return;
    this.docs.delete(doc.path);
    if (sendClose && this.connected) this.socket.send({ type: 'close', path: doc.path });
  }

  setIdentity(name: string, color: string): void {
    this.name = name;
    this.color = color;
    if (this.connected) this.socket.send({ type: 'hello', name, color });
  }

  list(): Promise<FileEntry[]> {
    return this.request<{ entries: FileEntry[] }>({ type: 'list' }).then((r) => r.entries ?? []);
  }
  create(path: string, kind: 'file' | 'dir', text?: string): Promise<void> {
    const m: Record<string, unknown> = { type: 'create', path, kind };
    if (text !== undefined) m.text = text;
    return this.request(m);
  }
  rename(from: string, to: string): Promise<void> {
    return this.request({ type: 'rename', from, to });
  }
  remove(path: string): Promise<void> {
    return this.request({ type: 'delete', path });
  }
  write(path: string, data: { text?: string; base64?: string }): Promise<void> {
    return this.request({ type: 'write', path, ...data });
  }
  read(path: string): Promise<{ path: string; size: number; base64: string }> {
    return this.request({ type: 'read', path });
  }

  private handle(data: string): void {
    let msg: any;
    try {
      msg = JSON.parse(data);
    } catch {
      this.opts.onError?.({ code: 'malformed_json', message: 'The workspace sent a malformed message' });
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    switch (msg.type) {
      case 'welcome': {
        // A lower client number than last time means the server restarted:
        // document versions restarted too, so documents must not resume by
        // version (they reload and rebase their unsent edits instead).
        const session = typeof msg.session === 'string' ? msg.session : typeof msg.server === 'string' ? msg.server : '';
        const sameSession =
          this.lastClient >= 0 && (session ? session === this.session : typeof msg.client === 'number' && msg.client > this.lastClient);
        this.clientNumber = typeof msg.client === 'number' ? msg.client : 0;
        this.lastClient = this.clientNumber;
        this.session = session;
        this.limits = msg.limits ?? {};
        this.socket.send({ type: 'hello', name: this.name, color: this.color });
        for (const d of this.docs.values()) d.onConnected(this, sameSession);
        this.list().then(
          (entries) => this.opts.onTree?.(entries),
          () => {},
        );
        return;
      }
      case 'fs':
        this.opts.onFs?.(Array.isArray(msg.changes) ? msg.changes : []);
        return;
    }
    // Documents: everything with a path that a registered doc owns, except
    // replies to generic requests (list/read/... have no path, or are
    // awaited by id).
    if (typeof msg.id === 'number' && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id)!;
      this.pending.delete(msg.id);
      (this.opts.timers ?? realTimers).clearTimeout(p.timer);
      if (msg.type === 'error') p.reject(new RequestError(msg.code ?? 'error', msg.message ?? 'error'));
      else p.resolve(msg);
      return;
    }
    if (typeof msg.id === 'number' && this.docIds.has(msg.id)) {
      const d = this.docIds.get(msg.id)!;
      this.docIds.delete(msg.id);
      if (this.docs.get(d.path) === d) d.onMessage(msg);
      return;
    }
    if (typeof msg.path === 'string') {
      const d = this.docs.get(msg.path);
      if (d) {
        d.onMessage(msg);
        return;
      }
    }
    if (msg.type === 'error') this.opts.onError?.({ code: msg.code, message: msg.message });
  }

  private failPending(code: string, message: string): void {
    if (this.socket.state !== 'open') this.clientNumber = -1;
    this.docIds.clear();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      (this.opts.timers ?? realTimers).clearTimeout(p.timer);
      p.reject(new RequestError(code, message));
    }
  }
}
