// The runner client against the real runner server ($PG_BINARY): a tty run
// answering input(), a compile error, a run that is stopped.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnerClient, type RunExit } from '../src/runner';
import { binary, RealServer } from './servers';
import { waitFor, wsFactory } from './harness';

describe.skipIf(!binary)('runner client vs the real runner server', () => {
  const server = new RealServer('runner-server');
  let client: RunnerClient;
  beforeAll(async () => {
    await server.start();
    client = new RunnerClient({ url: server.wsUrl, factory: wsFactory });
    client.start();
    await waitFor(() => client.socket.state === 'open', 'runner connection');
  });
  afterAll(async () => {
    client?.stop();
    await server.stop();
    server.cleanup();
  });

  function run(entry: string, onOutput?: (s: string) => void) {
    let out = '';
    let compile = '';
    return new Promise<{ exit?: RunExit; out: string; compile: string; error?: string }>((resolve) => {
      const ok = client.startRun({ entry, cols: 80, rows: 24 }, {
        onOutput: (d) => {
          out += d;
          onOutput?.(out);
        },
        onCompile: (d) => (compile += d),
        onExit: (exit) => resolve({ exit, out, compile }),
        onError: (code) => resolve({ out, compile, error: code }),
      });
      expect(ok).toBe(true);
    });
  }

  it('runs a Python program in a tty and answers its input()', async () => {
    fs.writeFileSync(path.join(server.root, 'main.py'), 'name = input("Name? ")\nprint(f"Hello, {name}!")\n');
    let answered = false;
    const r = await run('main.py', (out) => {
      if (!answered && out.includes('Name? ')) {
        answered = true;
        client.stdin('Ada\r');
      }
    });
    expect(r.error).toBeUndefined();
    expect(r.out).toContain('Hello, Ada!');
    expect(r.exit?.status).toBe('ok');
    expect(r.exit?.exit_code).toBe(0);
    expect(client.busy).toBe(false);
  });

  it('reports a C compile error with the compiler output', async () => {
    fs.writeFileSync(path.join(server.root, 'bad.c'), 'int main(void) { return missing; }\n');
    const r = await run('bad.c');
    expect(r.exit?.status).toBe('compile_error');
    expect(r.compile + (r.exit?.compile_output ?? '')).toMatch(/missing/);
  });

  it('stops a running program', async () => {
    fs.writeFileSync(path.join(server.root, 'loop.py'), 'import time\nprint("start", flush=True)\nwhile True: time.sleep(0.05)\n');
    const r = await run('loop.py', (out) => {
      if (out.includes('start')) client.kill();
    });
    expect(r.exit?.status).toBe('killed');
  });

  it('names an unknown entry', async () => {
    const r = await run('nope.py');
    expect(r.error).toBe('entry_not_found');
  });
});
