// One collaboratively edited document: @codemirror/collab on top of the
// workspace protocol. Pure (works on EditorState; a view or a test harness is
// the host), so Node tests drive it against the real workspace server.
//
// Survives reconnects without losing edits:
// * While offline, local edits accumulate as collab's unconfirmed updates.
// * On reconnect to the same server session it re-opens at its synced version
//   and the server replays the missed updates; then it pushes what is unsent.
// * On a full reload (server restarted, history too old, `resync`), it rebases
//   its unconfirmed edits onto the server's text: it keeps the text at its
//   synced version (`shadow`), diffs shadow -> server text, and maps its
//   unsent changes over that diff.

import { ChangeSet, EditorSelection, EditorState, Text, Transaction, type Extension, type TransactionSpec } from '@codemirror/state';
import { collab, getClientID, getSyncedVersion, receiveUpdates, sendableUpdates } from '@codemirror/collab';
import type { DocSink, WorkspaceClient } from './workspace';
import { clearPeers, removePeer, setPeer } from './presence';

export interface DocHost {
  readonly state: EditorState;
  dispatch(spec: TransactionSpec | Transaction): void;
  setState(state: EditorState): void;
}

export type DocStatus = 'loading' | 'saved' | 'unsaved' | 'offline' | 'error';

export interface CollabDocOptions {
  clientID?: string;
  // Extensions of the editor state besides collab (language, keymaps...).
  extensions?: (path: string) => Extension;
  onStatus?: (status: DocStatus, detail?: string) => void;
  onClosed?: (reason: string, to?: string) => void;
  onLoaded?: () => void;
  maxUpdatesPerPush?: number;
}

// The smallest change turning `a` into `b`: one replacement between their
// common prefix and suffix, never cutting a UTF-16 surrogate pair.
export function diffText(a: string, b: string): ChangeSet {
  let start = 0;
  const min = Math.min(a.length, b.length);
  while (start < min && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  if (start > 0 && isHigh(a.charCodeAt(start - 1))) start--;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) {
    endA--;
    endB--;
  }
  if (endA < a.length && isLow(a.charCodeAt(endA))) {
    endA++;
    endB++;
  }
  if (start === endA && start === endB) return ChangeSet.empty(a.length);
  return ChangeSet.of([{ from: start, to: endA, insert: b.slice(start, endB) }], a.length);
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c < 0xdc00;
}
function isLow(c: number): boolean {
  return c >= 0xdc00 && c < 0xe000;
}

export function makeClientID(): string {
  return Math.random().toString(36).slice(2, 10) + Date.now().toString(36).slice(-4);
}

export class CollabDoc implements DocSink {
  private client: WorkspaceClient | null = null;
  private loaded = false;
  private shadow: Text = Text.empty;
  private pushId = -1;
  private openId = -1;
  private pushScheduled = false;
  private presenceTimer: ReturnType<typeof setTimeout> | null = null;
  private lastPresence = '';
  readonly clientID: string;
  lineSep = '\n';
  status: DocStatus = 'loading';
  // Time (ms) of the last update of ours the server accepted; the file is on
  // disk at most ~200 ms later (docs/protocol-workspace.md).
  lastAcceptedAt = 0;
  private waiters: (() => void)[] = [];
  closed = false;

  constructor(
    readonly path: string,
    private readonly host: DocHost,
    private readonly opts: CollabDocOptions = {},
  ) {
    this.clientID = opts.clientID ?? makeClientID();
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  get version(): number {
    return this.loaded ? getSyncedVersion(this.host.state) : -1;
  }

  get unsent(): number {
    return this.loaded ? sendableUpdates(this.host.state).length : 0;
  }

  // Resolves once every local edit is confirmed by the server (or rejects
  // after timeoutMs).
  whenSynced(timeoutMs = 5000): Promise<void> {
    if (this.loaded && this.unsent === 0 && this.pushId < 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('Unsaved changes could not be sent to the server')), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  // Builds the editor state for `text` at `version`.
  makeState(text: string, version: number, selection?: EditorSelection): EditorState {
    return EditorState.create({
      doc: text,
      selection,
      extensions: [collab({ startVersion: version, clientID: this.clientID }), this.opts.extensions?.(this.path) ?? []],
    });
  }

  // --- DocSink -------------------------------------------------------------

  onConnected(client: WorkspaceClient, sameSession: boolean): void {
    this.client = client;
    this.pushId = -1;
    const msg: Record<string, unknown> = { type: 'open', path: this.path };
    if (this.loaded && sameSession) msg.version = getSyncedVersion(this.host.state);
    this.openId = client.sendFor(this, msg);
    this.lastPresence = '';
  }

  onDisconnected(): void {
    this.pushId = -1;
    this.openId = -1;
    if (this.loaded) this.host.dispatch({ effects: clearPeers.of(null) });
    this.setStatus('offline');
  }

  onMessage(msg: any): void {
    switch (msg.type) {
      case 'doc':
        this.openId = -1;
        if (typeof msg.lineSep === 'string') this.lineSep = msg.lineSep;
        if (typeof msg.text === 'string') this.loadText(msg.text, msg.version);
        // text null: resumed at our version; the missed `updates` follow.
        this.afterSync();
        return;
      case 'resync':
        if (typeof msg.lineSep === 'string') this.lineSep = msg.lineSep;
        if (typeof msg.text === 'string') this.loadText(msg.text, msg.version);
        this.afterSync();
        return;
      case 'updates':
        this.applyUpdates(msg.version, msg.updates);
        return;
      case 'pushed':
        if (msg.id === this.pushId) this.pushId = -1;
        if (msg.accepted) this.lastAcceptedAt = Date.now();
        // Not accepted: the winning updates already arrived (ordering rule)
        // and were rebased into ours by receiveUpdates; push again.
        this.afterSync();
        return;
      case 'presence':
        this.onPresence(msg);
        return;
      case 'closed':
        this.closed = true;
        this.client?.detach(this, false);
        this.opts.onClosed?.(msg.reason ?? 'closed', msg.to);
        return;
      case 'error':
        this.onError(msg);
        return;
    }
  }

  // --- local side ----------------------------------------------------------

  // The host calls this after every transaction that changed the document or
  // the selection.
  onLocalTransaction(docChanged: boolean, selectionSet: boolean): void {
    if (docChanged) {
      this.setStatus('unsaved');
      this.schedulePush();
    }
    if (docChanged || selectionSet) this.schedulePresence();
  }

  close(): void {
    this.closed = true;
    if (this.presenceTimer) clearTimeout(this.presenceTimer);
    this.client?.detach(this);
  }

  private schedulePush(): void {
    if (this.pushScheduled) return;
    this.pushScheduled = true;
    queueMicrotask(() => {
      this.pushScheduled = false;
      this.push();
    });
  }

  private push(): void {
    const client = this.client;
    if (!client || !client.connected || !this.loaded || this.pushId >= 0 || this.openId >= 0 || this.closed) return;
    const ups = sendableUpdates(this.host.state);
    if (!ups.length) return;
    const max = this.opts.maxUpdatesPerPush ?? client.limits.maxUpdatesPerPush ?? 100;
    const batch = ups.slice(0, max).map((u) => ({ clientID: u.clientID, changes: u.changes.toJSON() }));
    this.pushId = client.sendFor(this, {
      type: 'push',
      path: this.path,
      version: getSyncedVersion(this.host.state),
      updates: batch,
    });
  }

  private afterSync(): void {
    if (!this.loaded) return;
    if (this.unsent > 0) {
      this.setStatus('unsaved');
      this.push();
    } else if (this.pushId < 0) {
      this.setStatus('saved');
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
    this.schedulePresence();
  }

  private loadText(text: string, version: number): void {
    if (typeof version !== 'number') version = 0;
    if (!this.loaded) {
      this.shadow = Text.of(text.split('\n'));
      this.host.setState(this.makeState(text, version));
      this.loaded = true;
      this.opts.onLoaded?.();
      return;
    }
    // Rebase the unconfirmed local edits (from shadow) onto the new text.
    const state = this.host.state;
    const unsent = sendableUpdates(state);
    let mine = ChangeSet.empty(this.shadow.length);
    for (const u of unsent) mine = mine.compose(u.changes);
    const theirs = diffText(this.shadow.toString(), text);
    const rebased = mine.map(theirs);
    // Carry the selection over: local -> shadow -> server text -> rebased.
    const sel = state.selection
      .map(mine.invertedDesc)
      .map(theirs)
      .map(rebased);
    this.shadow = Text.of(text.split('\n'));
    this.host.setState(this.makeState(text, version, sel.ranges.every((r) => r.to <= text.length) ? sel : undefined));
    if (!rebased.empty) this.host.dispatch({ changes: rebased, selection: sel.map(rebased, 1) });
    this.host.dispatch({ effects: clearPeers.of(null) });
  }

  private applyUpdates(version: number, raw: any[]): void {
    if (!this.loaded || !Array.isArray(raw) || typeof version !== 'number') return;
    const synced = getSyncedVersion(this.host.state);
    if (version > synced) {
      // A gap (cannot happen on one connection, but be safe): resume.
      this.reopen(true);
      return;
    }
    const skip = synced - version;
    if (skip >= raw.length) return;
    const updates = [];
    let shadow = this.shadow;
    try {
      for (const u of raw.slice(skip)) {
        const changes = ChangeSet.fromJSON(u.changes);
        if (changes.length !== shadow.length) throw new Error('length mismatch');
        shadow = changes.apply(shadow);
        updates.push({ clientID: String(u.clientID), changes });
      }
    } catch {
      this.reopen(false);
      return;
    }
    this.shadow = shadow;
    const ownID = getClientID(this.host.state);
    if (updates.some((u) => u.clientID === ownID)) this.lastAcceptedAt = Date.now();
    this.host.dispatch(receiveUpdates(this.host.state, updates));
    if (this.pushId < 0) this.afterSync();
  }

  private reopen(withVersion: boolean): void {
    if (!this.client || !this.client.connected) return;
    const msg: Record<string, unknown> = { type: 'open', path: this.path };
    if (withVersion) msg.version = getSyncedVersion(this.host.state);
    this.pushId = -1;
    this.openId = this.client.sendFor(this, msg);
  }

  private onError(msg: any): void {
    const code = String(msg.code ?? 'error');
    if (!this.loaded || msg.id === this.openId) {
      this.openId = -1;
      const why: Record<string, string> = {
        not_text: 'This file is not text (not UTF-8), so it cannot be edited here. Download it instead.',
        is_directory: 'This is a folder.',
        doc_too_large: 'This file is too large to edit here.',
        too_many_documents: 'Too many files are open. Close some tabs.',
        invalid_path: 'This path is not allowed.',
      };
      this.setStatus('error', why[code] ?? msg.message ?? code);
      return;
    }
    if (msg.id === this.pushId) {
      this.pushId = -1;
      if (code === 'rate_limited') {
        setTimeout(() => this.push(), 200);
        return;
      }
      // bad_changes / bad_version: our view diverged; reload and rebase.
      this.reopen(false);
      return;
    }
  }

  private onPresence(msg: any): void {
    if (!this.loaded || typeof msg.client !== 'number') return;
    if (msg.left) {
      this.host.dispatch({ effects: removePeer.of(msg.client) });
      return;
    }
    if (!Array.isArray(msg.ranges)) return;
    const ranges = msg.ranges
      .filter((r: any) => r && Number.isFinite(r.anchor) && Number.isFinite(r.head))
      .map((r: any) => ({ anchor: r.anchor, head: r.head }));
    this.host.dispatch({
      effects: setPeer.of({
        client: msg.client,
        name: String(msg.name ?? `user ${msg.client}`).slice(0, 64),
        color: String(msg.color ?? '#888888'),
        ranges,
      }),
    });
  }

  private schedulePresence(): void {
    if (this.presenceTimer || this.closed) return;
    this.presenceTimer = setTimeout(() => {
      this.presenceTimer = null;
      this.sendPresence();
    }, 50);
  }

  private sendPresence(): void {
    if (!this.client || !this.client.connected || !this.loaded || this.openId >= 0) return;
    const state = this.host.state;
    const sel = state.selection;
    const ranges = [sel.main, ...sel.ranges.filter((r) => r !== sel.main)]
      .slice(0, 100)
      .map((r) => ({ anchor: r.anchor, head: r.head }));
    const msg = { type: 'presence', path: this.path, version: getSyncedVersion(state), ranges };
    const key = JSON.stringify(msg);
    if (key === this.lastPresence) return;
    this.lastPresence = key;
    this.client.send(msg);
  }

  private setStatus(s: DocStatus, detail?: string): void {
    this.status = s;
    this.opts.onStatus?.(s, detail);
  }
}
