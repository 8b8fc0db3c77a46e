// Headless editors for the tests: a WorkspaceClient + CollabDoc whose host is
// a plain EditorState (no DOM), connected with npm `ws` to a real server.
import WebSocket from 'ws';
import { EditorSelection, EditorState, Transaction } from '@codemirror/state';
import { CollabDoc, type DocHost } from '../src/collab';
import { presenceExtension, peers } from '../src/presence';
import { WorkspaceClient } from '../src/workspace';
import type { WebSocketLike } from '../src/socket';

export const wsFactory = (url: string) => new WebSocket(url) as unknown as WebSocketLike;

export class HeadlessEditor {
  readonly host: DocHost & { state: EditorState };
  readonly client: WorkspaceClient;
  readonly doc: CollabDoc;
  states: string[] = [];

  constructor(url: string | (() => string), path: string, name: string) {
    const host = {
      state: EditorState.create({ doc: '' }),
      dispatch(spec: any) {
        host.state = spec instanceof Transaction ? spec.state : host.state.update(spec).state;
      },
      setState(s: EditorState) {
        host.state = s;
      },
    };
    this.host = host;
    this.client = new WorkspaceClient({ url, factory: wsFactory, name, color: '#3366cc', baseDelayMs: 20, maxDelayMs: 200 });
    this.doc = new CollabDoc(path, host, { extensions: () => presenceExtension() });
    this.client.attach(this.doc);
    this.client.start();
  }

  get text(): string {
    return this.host.state.doc.toString();
  }

  // A local user edit (as the view would dispatch it).
  edit(from: number, to: number, insert: string): void {
    const len = this.host.state.doc.length;
    from = Math.min(from, len);
    to = Math.min(Math.max(to, from), len);
    this.host.dispatch(this.host.state.update({ changes: { from, to, insert }, userEvent: 'input' }));
    this.doc.onLocalTransaction(true, false);
  }

  select(anchor: number, head = anchor): void {
    this.host.dispatch({ selection: EditorSelection.single(anchor, head) });
    this.doc.onLocalTransaction(false, true);
  }

  peers() {
    return peers(this.host.state);
  }

  stop(): void {
    this.doc.close();
    this.client.stop();
  }
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// A deterministic PRNG for the random edit tests.
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SAMPLES = ['a', 'xyz', '\n', 'é', '😀', 'e\u0301', 'line\nbreak', '  ', '👩‍💻'];

// One random edit that never splits a surrogate pair.
export function randomEdit(ed: HeadlessEditor, r: () => number): void {
  const text = ed.text;
  const safe = (p: number) => {
    p = Math.max(0, Math.min(text.length, p));
    const c = text.charCodeAt(p);
    return p > 0 && c >= 0xdc00 && c < 0xe000 ? p - 1 : p;
  };
  const from = safe(Math.floor(r() * (text.length + 1)));
  const del = r() < 0.35 ? Math.floor(r() * 6) : 0;
  const to = safe(from + del);
  const insert = r() < 0.8 ? SAMPLES[Math.floor(r() * SAMPLES.length)] : '';
  if (from === to && !insert) return;
  ed.edit(from, to, insert);
}

export async function waitForAsync(cond: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
