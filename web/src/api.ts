// REST client for the hub's /api/v1. Pure (no DOM): the fetch function is
// injected so tests can run it under Node against a real server.
//
// Authentication rides on the HttpOnly session cookie set by /login or by a
// share link (credentials: 'same-origin'); a bearer token is only used when
// one is passed explicitly (tests, scripts).

export type Template = 'python' | 'c' | 'cpp' | 'node' | 'blank';
export type Role = 'owner' | 'editor' | 'viewer';

export interface Playground {
  id: string;
  name: string;
  template: string;
  status: string;
  token?: string;
  created_at?: string;
  last_used_at?: string;
  urls?: { ide?: string; workspace?: string; run?: string };
  role?: Role;
}

export interface PlaygroundPage {
  items: Playground[];
  next_cursor: string | null;
}

export interface ShareLink {
  token: string;
  role: Role;
  url: string;
}

export interface FileEntry {
  path: string;
  type: 'file' | 'dir';
  size?: number;
  mtime?: number | string;
}

export interface RunLimits {
  cpu_ms?: number;
  wall_ms?: number;
  memory_kb?: number;
}

export interface RunResult {
  id?: string;
  status: string;
  exit_code?: number | null;
  signal?: number | string | null;
  stdout?: string;
  stderr?: string;
  compile_output?: string;
  cpu_ms?: number;
  wall_ms?: number;
  peak_memory_kb?: number;
  output_truncated?: boolean;
  language?: string;
}

// An error the user can read. `code` is the hub's machine code (or one of
// ours: 'unreachable', 'bad_response'), `status` the HTTP status (0 when the
// server could not be reached at all).
export class ApiError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

// Turns any failure into one sentence a user understands, naming what to do.
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    switch (err.code) {
      case 'unreachable':
        return 'The server is unreachable. Check your connection; retrying may help.';
      case 'run_limit':
      case 'too_many_runs':
      case 'rate_limited':
        return 'Run limit reached: too many programs are running. Wait for one to finish and try again.';
      case 'compile_error':
        return 'The program did not compile. See the compiler output in the terminal.';
    }
    if (err.status === 404) return 'Playground not found. It may have been deleted, or the link is wrong.';
    if (err.status === 401) return 'You are not signed in. Open the login link you were given, or paste your admin token.';
    if (err.status === 403) return 'You do not have access to this. Ask the owner for a share link.';
    if (err.status === 429) return 'Limit reached: too many requests or runs at once. Wait a moment and try again.';
    if (err.status >= 500) return `The server had a problem (${err.status}): ${err.message}`;
    return err.message || `Request failed (${err.status})`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

export class Api {
  // `base` is the hub origin ('' for same origin). `token`, if given, is sent
  // as a bearer token instead of relying on the cookie.
  constructor(
    private readonly base = '',
    private readonly fetchFn: FetchFn = (i, init) => fetch(i, init),
    private readonly token?: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown, raw = false): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers['Authorization'] = `Bearer ${this.token}`;
    let payload: BodyInit | undefined;
    if (body instanceof Blob || body instanceof ArrayBuffer || typeof body === 'string') {
      payload = body as BodyInit;
      headers['Content-Type'] = 'application/octet-stream';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path, {
        method,
        headers,
        body: payload,
        credentials: 'same-origin',
      });
    } catch (e) {
      throw new ApiError('unreachable', `Server unreachable (${(e as Error).message})`, 0);
    }
    if (!res.ok) throw await errorFromResponse(res);
    if (raw) return res as unknown as T;
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError('bad_response', `The server sent an invalid response to ${method} ${path}`, res.status);
    }
  }

  listPlaygrounds(limit = 100, cursor?: string): Promise<PlaygroundPage> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (cursor) q.set('cursor', cursor);
    return this.request('GET', `/api/v1/playgrounds?${q}`);
  }

  // Follows next_cursor until every playground is listed (bounded).
  async listAllPlaygrounds(maxPages = 20): Promise<Playground[]> {
    const all: Playground[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < maxPages; i++) {
      const page = await this.listPlaygrounds(100, cursor);
      all.push(...(page.items ?? []));
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return all;
  }

  createPlayground(name: string, template: Template): Promise<Playground> {
    return this.request('POST', '/api/v1/playgrounds', { name, template });
  }

  getPlayground(id: string): Promise<Playground> {
    return this.request('GET', `/api/v1/playgrounds/${encodeURIComponent(id)}`);
  }

  stopPlayground(id: string): Promise<Playground | undefined> {
    return this.request('POST', `/api/v1/playgrounds/${encodeURIComponent(id)}/stop`);
  }

  startPlayground(id: string): Promise<Playground | undefined> {
    return this.request('POST', `/api/v1/playgrounds/${encodeURIComponent(id)}/start`);
  }

  deletePlayground(id: string): Promise<void> {
    return this.request('DELETE', `/api/v1/playgrounds/${encodeURIComponent(id)}`);
  }

  createShareLink(id: string, role: 'viewer' | 'editor'): Promise<ShareLink> {
    return this.request('POST', `/api/v1/playgrounds/${encodeURIComponent(id)}/tokens`, { role });
  }

  async listFiles(id: string): Promise<FileEntry[]> {
    const tree = await this.request<{ entries?: FileEntry[] } | FileEntry[]>(
      'GET',
      `/api/v1/playgrounds/${encodeURIComponent(id)}/files/`,
    );
    return Array.isArray(tree) ? tree : (tree?.entries ?? []);
  }

  async readFile(id: string, path: string): Promise<Blob> {
    const res = await this.request<Response>('GET', filePath(id, path), undefined, true);
    return res.blob();
  }

  writeFile(id: string, path: string, data: Blob | ArrayBuffer | string): Promise<void> {
    return this.request('PUT', filePath(id, path), data);
  }

  deleteFile(id: string, path: string): Promise<void> {
    return this.request('DELETE', filePath(id, path));
  }
}

export function filePath(id: string, path: string): string {
  const enc = path.split('/').filter(Boolean).map(encodeURIComponent).join('/');
  return `/api/v1/playgrounds/${encodeURIComponent(id)}/files/${enc}`;
}

async function errorFromResponse(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = JSON.parse(await res.text());
    if (body && typeof body === 'object' && body.error && typeof body.error === 'object') {
      if (typeof body.error.code === 'string') code = body.error.code;
      if (typeof body.error.message === 'string') message = body.error.message;
    }
  } catch {
    // Not JSON (a proxy's error page): keep the status text.
  }
  if (res.status === 404 && code === `http_404`) code = 'not_found';
  return new ApiError(code, message, res.status);
}
