// The REST client against a real HTTP server (node:http) answering like the
// hub: JSON bodies, {"error":{code,message}} errors, 204s, bearer tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Api, ApiError, describeError, filePath } from '../src/api';

describe('Api', () => {
  let server: http.Server;
  let base = '';
  const seen: { method: string; url: string; auth?: string; body: string; type?: string }[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body, type: req.headers['content-type'] });
        const json = (status: number, v: unknown) => {
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(v));
        };
        if (req.url === '/api/v1/playgrounds' && req.method === 'POST') return json(201, { id: 'p1', ...JSON.parse(body), status: 'running', role: 'owner' });
        if (req.url!.startsWith('/api/v1/playgrounds?')) {
          const cursor = new URL(req.url!, 'http://x').searchParams.get('cursor');
          return json(200, cursor ? { items: [{ id: 'b' }], next_cursor: null } : { items: [{ id: 'a' }], next_cursor: 'c1' });
        }
        if (req.url === '/api/v1/playgrounds/missing') return json(404, { error: { code: 'not_found', message: 'playground not found' } });
        if (req.url === '/api/v1/playgrounds/secret') return json(403, { error: { code: 'forbidden', message: 'no access' } });
        if (req.url === '/api/v1/playgrounds/p1' && req.method === 'DELETE') {
          res.writeHead(204);
          return res.end();
        }
        if (req.url === '/api/v1/playgrounds/html') {
          res.writeHead(502, { 'Content-Type': 'text/html' });
          return res.end('<h1>Bad Gateway</h1>');
        }
        if (req.url === '/api/v1/playgrounds/garbage') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          return res.end('{not json');
        }
        if (req.url!.startsWith('/api/v1/playgrounds/p1/files/')) {
          if (req.method === 'PUT') {
            res.writeHead(204);
            return res.end();
          }
          res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
          return res.end('file bytes');
        }
        json(404, { error: { code: 'not_found', message: 'no such API endpoint' } });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('creates with a JSON body and the bearer token', async () => {
    const api = new Api(base, fetch, 'tok123');
    const pg = await api.createPlayground('Demo', 'python');
    expect(pg).toMatchObject({ id: 'p1', name: 'Demo', template: 'python', role: 'owner' });
    const req = seen.at(-1)!;
    expect(req.auth).toBe('Bearer tok123');
    expect(req.type).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({ name: 'Demo', template: 'python' });
  });

  it('follows next_cursor to list every playground', async () => {
    const all = await new Api(base).listAllPlaygrounds();
    expect(all.map((p) => p.id)).toEqual(['a', 'b']);
    expect(seen.at(-1)!.url).toContain('cursor=c1');
    expect(seen.at(-1)!.auth).toBeUndefined();
  });

  it('maps error bodies to ApiError with code, status and a readable sentence', async () => {
    const api = new Api(base);
    const e404 = await api.getPlayground('missing').catch((e) => e);
    expect(e404).toBeInstanceOf(ApiError);
    expect(e404).toMatchObject({ code: 'not_found', status: 404, message: 'playground not found' });
    expect(describeError(e404)).toMatch(/Playground not found/);
    const e403 = await api.getPlayground('secret').catch((e) => e);
    expect(e403).toMatchObject({ code: 'forbidden', status: 403 });
    expect(describeError(e403)).toMatch(/do not have access/);
    const e502 = await api.getPlayground('html').catch((e) => e);
    expect(e502).toMatchObject({ status: 502, code: 'http_502' });
    expect(describeError(e502)).toMatch(/server had a problem/);
    const bad = await api.getPlayground('garbage').catch((e) => e);
    expect(bad).toMatchObject({ code: 'bad_response' });
  });

  it('reports an unreachable server', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const err = await new Api(`http://127.0.0.1:${port}`).listPlaygrounds().catch((e) => e);
    expect(err).toMatchObject({ code: 'unreachable', status: 0 });
    expect(describeError(err)).toMatch(/unreachable/);
  });

  it('handles 204, raw files and percent-encoded paths', async () => {
    const api = new Api(base);
    await expect(api.deletePlayground('p1')).resolves.toBeUndefined();
    const blob = await api.readFile('p1', 'dir/a b#.txt');
    expect(await blob.text()).toBe('file bytes');
    expect(seen.at(-1)!.url).toBe('/api/v1/playgrounds/p1/files/dir/a%20b%23.txt');
    await api.writeFile('p1', 'x.bin', new Uint8Array([0, 255, 1]).buffer);
    expect(seen.at(-1)!.method).toBe('PUT');
    expect(seen.at(-1)!.type).toBe('application/octet-stream');
    expect(filePath('a/b', '/x//y')).toBe('/api/v1/playgrounds/a%2Fb/files/x/y');
  });

  it('names run limits and compile errors', () => {
    expect(describeError(new ApiError('run_limit', 'x', 429))).toMatch(/Run limit reached/);
    expect(describeError(new ApiError('compile_error', 'x', 200))).toMatch(/did not compile/);
    expect(describeError(new ApiError('unauthorized', 'x', 401))).toMatch(/not signed in/);
  });
});
