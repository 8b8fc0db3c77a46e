// Starts the real servers of $PG_BINARY (workspace-server, runner-server) on
// unix sockets in a temp dir, for the client tests.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const binary = process.env.PG_BINARY ?? '';

export class RealServer {
  readonly dir: string;
  readonly root: string;
  readonly sock: string;
  private proc: ChildProcess | null = null;
  log = '';

  constructor(private readonly kind: 'workspace-server' | 'runner-server') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `pg-web-${kind}-`));
    this.root = path.join(this.dir, 'root');
    fs.mkdirSync(this.root);
    this.sock = path.join(this.dir, 's.sock');
  }

  // ws+unix URL of its WebSocket endpoint (npm ws syntax).
  get wsUrl(): string {
    return `ws+unix://${this.sock}:/ws`;
  }

  async start(): Promise<void> {
    fs.rmSync(this.sock, { force: true });
    const p = spawn(binary, [this.kind, '--root', this.root, '--listen', `unix:${this.sock}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    p.stdout!.on('data', (d) => (this.log += d));
    p.stderr!.on('data', (d) => (this.log += d));
    const end = Date.now() + 10000;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`${this.kind} exited with ${p.exitCode}:\n${this.log}`);
      if (await canConnect(this.sock)) return;
      if (Date.now() > end) throw new Error(`${this.kind} did not listen on ${this.sock}:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode) return;
    await new Promise<void>((r) => {
      // A server that does not finish its shutdown in 5 s is killed.
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      p.once('exit', () => {
        clearTimeout(t);
        r();
      });
      p.kill(signal);
    });
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(sock);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
