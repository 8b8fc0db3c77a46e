// A reference implementation of the document part of the workspace protocol
// (docs/protocol-workspace.md: welcome, hello, list, open with resume, push,
// updates, resync, presence, close) on npm `ws`, used to test the client's
// collab and reconnect logic with real sockets. The same tests also run
// against the real C++ workspace server when PG_BINARY provides it
// (collab_real.test.ts).
import { WebSocketServer, type WebSocket } from 'ws';
import { ChangeSet, Text } from '@codemirror/state';
import type { AddressInfo } from 'node:net';

interface Doc {
  text: Text;
  version: number;
  history: { clientID: string; changes: any }[]; // all updates (small tests)
  clients: Set<Conn>;
}

interface Conn {
  ws: WebSocket;
  client: number;
  name: string;
  color: string;
  open: Set<string>;
}

export class RefServer {
  private wss!: WebSocketServer;
  private docs = new Map<string, Doc>();
  private conns = new Set<Conn>();
  private nextClient = 1;
  port = 0;
  // Files (path -> text) as on disk.
  files = new Map<string, string>();
  // When set, incoming messages are dropped (simulates a stalled link).
  blackhole = false;
  received: any[] = [];

  async start(port = 0): Promise<void> {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((r) => this.wss.once('listening', () => r()));
    this.port = (this.wss.address() as AddressInfo).port;
    this.wss.on('connection', (ws) => this.onConnection(ws));
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  // Drops every connection abruptly (as a crashed proxy would).
  dropAll(): void {
    for (const c of this.conns) c.ws.terminate();
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.ws.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  // Simulates a server restart: documents are saved to `files`, versions and
  // client numbers restart.
  async restart(): Promise<void> {
    for (const [p, d] of this.docs) this.files.set(p, d.text.toString());
    this.docs.clear();
    this.nextClient = 1;
    const port = this.port;
    await this.stop();
    this.conns.clear();
    await this.start(port);
  }

  docText(path: string): string | undefined {
    return this.docs.get(path)?.text.toString() ?? this.files.get(path);
  }

  private onConnection(ws: WebSocket): void {
    const c: Conn = { ws, client: this.nextClient++, name: '', color: '#888888', open: new Set() };
    c.name = `user ${c.client}`;
    this.conns.add(c);
    this.send(c, { type: 'welcome', client: c.client, limits: { maxUpdatesPerPush: 100, maxFile: 10485760 } });
    ws.on('message', (data) => {
      if (this.blackhole) return;
      let m: any;
      try {
        m = JSON.parse(String(data));
      } catch {
        return this.send(c, { type: 'error', code: 'malformed_json', message: 'bad json' });
      }
      this.received.push(m);
      this.handle(c, m);
    });
    ws.on('close', () => {
      this.conns.delete(c);
      for (const p of c.open) this.leave(c, p);
    });
  }

  private send(c: Conn, m: unknown): void {
    if (c.ws.readyState === 1) c.ws.send(JSON.stringify(m));
  }

  private handle(c: Conn, m: any): void {
    const id = m.id;
    const reply = (r: Record<string, unknown>) => this.send(c, id === undefined ? r : { ...r, id });
    switch (m.type) {
      case 'hello':
        c.name = m.name;
        c.color = m.color;
        return reply({ type: 'ok' });
      case 'list':
        return reply({ type: 'tree', entries: [...this.files.keys()].sort().map((p) => ({ path: p, type: 'file', size: 0, mtime: 0 })) });
      case 'open': {
        let d = this.docs.get(m.path);
        if (!d) {
          const t = this.files.get(m.path) ?? '';
          d = { text: Text.of(t.split('\n')), version: 0, history: [], clients: new Set() };
          this.docs.set(m.path, d);
        }
        d.clients.add(c);
        c.open.add(m.path);
        if (typeof m.version === 'number' && m.version <= d.version) {
          reply({ type: 'doc', path: m.path, version: m.version, text: null, lineSep: '\n' });
          const missing = d.history.slice(m.version);
          if (missing.length) this.send(c, { type: 'updates', path: m.path, version: m.version, updates: missing });
        } else {
          reply({ type: 'doc', path: m.path, version: d.version, text: d.text.toString(), lineSep: '\n' });
        }
        return;
      }
      case 'close':
        this.leave(c, m.path);
        return reply({ type: 'ok' });
      case 'push': {
        const d = this.docs.get(m.path);
        if (!d || !d.clients.has(c)) return reply({ type: 'error', code: 'not_open', message: 'not open' });
        if (m.version > d.version) return reply({ type: 'error', code: 'bad_version', message: 'future version' });
        if (m.version < d.version) return reply({ type: 'pushed', path: m.path, accepted: false, version: d.version });
        let text = d.text;
        const parsed = [];
        try {
          for (const u of m.updates) {
            const cs = ChangeSet.fromJSON(u.changes);
            if (cs.length !== text.length) throw new Error('length');
            text = cs.apply(text);
            parsed.push({ clientID: u.clientID, changes: u.changes });
          }
        } catch {
          return reply({ type: 'error', code: 'bad_changes', message: 'bad changes' });
        }
        const before = d.version;
        d.text = text;
        d.version += parsed.length;
        d.history.push(...parsed);
        for (const o of d.clients) this.send(o, { type: 'updates', path: m.path, version: before, updates: parsed });
        return reply({ type: 'pushed', path: m.path, accepted: true, version: d.version });
      }
      case 'presence': {
        const d = this.docs.get(m.path);
        if (!d) return;
        for (const o of d.clients)
          if (o !== c) this.send(o, { type: 'presence', path: m.path, client: c.client, name: c.name, color: c.color, version: m.version, ranges: m.ranges });
        return;
      }
      default:
        return reply({ type: 'error', code: 'unknown_type', message: String(m.type) });
    }
  }

  private leave(c: Conn, path: string): void {
    const d = this.docs.get(path);
    c.open.delete(path);
    if (!d) return;
    d.clients.delete(c);
    for (const o of d.clients) this.send(o, { type: 'presence', path, client: c.client, left: true });
  }
}
