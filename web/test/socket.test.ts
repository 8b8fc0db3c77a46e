// ReconnectingSocket against a real WebSocket server (npm ws).
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { backoffDelay, ReconnectingSocket, wsUrl, type SocketState } from '../src/socket';
import { waitFor, wsFactory } from './harness';

describe('backoffDelay', () => {
  it('grows exponentially with jitter and is capped', () => {
    expect(backoffDelay(0, 250, 8000, () => 0)).toBe(125);
    expect(backoffDelay(0, 250, 8000, () => 1)).toBe(250);
    expect(backoffDelay(3, 250, 8000, () => 0.5)).toBe(1500);
    for (let a = 0; a < 40; a++) {
      const d = backoffDelay(a, 250, 8000);
      expect(d).toBeGreaterThanOrEqual(Math.min(8000, 250 * 2 ** a) / 2);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });
  it('builds ws/wss URLs from the page location', () => {
    expect(wsUrl('/p/x/run', { protocol: 'https:', host: 'h:1' })).toBe('wss://h:1/p/x/run');
    expect(wsUrl('/p/x/run', { protocol: 'http:', host: 'h' })).toBe('ws://h/p/x/run');
  });
});

describe('ReconnectingSocket', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    while (cleanup.length) cleanup.pop()!();
  });

  async function server() {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    cleanup.push(() => wss.close());
    return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/` };
  }

  it('reconnects after the server drops it, with growing delays, and delivers messages', async () => {
    const { wss, url } = await server();
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.send(`hello ${connections}`);
      if (connections < 4) setTimeout(() => ws.terminate(), 5);
    });
    const got: string[] = [];
    const states: { s: SocketState; retry?: number }[] = [];
    const s = new ReconnectingSocket({ url, factory: wsFactory, baseDelayMs: 10, maxDelayMs: 1000, onMessage: (d) => got.push(d), onState: (st, i) => states.push({ s: st, retry: i.retryInMs }) });
    cleanup.push(() => s.stop());
    s.start();
    await waitFor(() => connections === 4 && s.state === 'open', 'fourth connection');
    expect(got).toEqual(['hello 1', 'hello 2', 'hello 3', 'hello 4']);
    const retries = states.filter((x) => x.s === 'reconnecting' && x.retry !== undefined).map((x) => x.retry!);
    expect(retries.length).toBe(3);
    expect(retries[2]).toBeGreaterThanOrEqual(20); // base 10 * 2^2 / 2
    expect(s.send({ a: 1 })).toBe(true);
  });

  it('keeps retrying while the server is down and connects when it is back', async () => {
    const { wss, url } = await server();
    const port = Number(new URL(url).port);
    await new Promise<void>((r) => wss.close(() => r()));
    const s = new ReconnectingSocket({ url, factory: wsFactory, baseDelayMs: 10, maxDelayMs: 50 });
    cleanup.push(() => s.stop());
    s.start();
    await waitFor(() => s.attempts >= 3, 'a few failed attempts');
    expect(s.state).toBe('reconnecting');
    expect(s.send('x')).toBe(false);
    const back = new WebSocketServer({ host: '127.0.0.1', port });
    cleanup.push(() => back.close());
    await waitFor(() => s.state === 'open', 'reconnected');
  });

  it('stops for good when told, or when the close code says not to retry', async () => {
    const { wss, url } = await server();
    let n = 0;
    wss.on('connection', (ws) => {
      n++;
      ws.close(4403, 'no access');
    });
    const closed: number[] = [];
    const s = new ReconnectingSocket({
      url, factory: wsFactory, baseDelayMs: 5,
      shouldReconnect: (code) => code !== 4403,
      onState: (st, i) => st === 'closed' && i.closeCode && closed.push(i.closeCode),
    });
    s.start();
    await waitFor(() => s.state === 'closed' && closed.length > 0, 'closed');
    await new Promise((r) => setTimeout(r, 50));
    expect(n).toBe(1);
    expect(closed).toEqual([4403]);
    s.retryNow();
    await waitFor(() => n === 2, 'manual retry');
    s.stop();
  });
});
