// The collaborative-editing client suite, run against any server that
// speaks docs/protocol-workspace.md (the reference server in this directory,
// and the real C++ workspace server).
import { afterEach, expect, it } from 'vitest';
import { HeadlessEditor, randomEdit, rng, waitFor, waitForAsync } from './harness';

export interface ServerFixture {
  url: string | (() => string);
  // Creates a file with this content before the test opens it.
  seed(path: string, text: string): Promise<void>;
  // The server's text of the document (its copy, or the saved file).
  text(path: string): Promise<string | undefined>;
  // Restarts the server process: versions and client numbers restart.
  restart(): Promise<void>;
}

export function collabSuite(fixture: () => ServerFixture): void {
  const editors: HeadlessEditor[] = [];
  const open = (path: string, name: string) => {
    const e = new HeadlessEditor(fixture().url, path, name);
    editors.push(e);
    return e;
  };
  afterEach(() => {
    while (editors.length) editors.pop()!.stop();
  });

  const settled = (eds: HeadlessEditor[]) => () =>
    eds.every((e) => e.doc.isLoaded && e.doc.unsent === 0 && e.doc.status === 'saved') &&
    eds.every((e) => e.doc.version === eds[0].doc.version && e.text === eds[0].text);

  it('loads the file and sends edits', async () => {
    const f = fixture();
    await f.seed('a.txt', 'hello\nworld\n');
    const a = open('a.txt', 'Ada');
    await waitFor(() => a.doc.isLoaded, 'load');
    expect(a.text).toBe('hello\nworld\n');
    a.edit(5, 5, ', there');
    await waitFor(settled([a]), 'sync');
    await waitFor(() => a.doc.version === 1, 'version 1');
    const b = open('a.txt', 'Bob');
    await waitFor(() => b.doc.isLoaded, 'load b');
    expect(b.text).toBe('hello, there\nworld\n');
  });

  it('two clients editing at once converge to the same text', async () => {
    const f = fixture();
    await f.seed('conv.txt', 'start\n');
    const a = open('conv.txt', 'Ada');
    const b = open('conv.txt', 'Bob');
    await waitFor(() => a.doc.isLoaded && b.doc.isLoaded, 'load');
    const r = rng(42);
    for (let i = 0; i < 150; i++) {
      randomEdit(r() < 0.5 ? a : b, r);
      if (i % 7 === 0) await new Promise((res) => setTimeout(res, Math.floor(r() * 4)));
    }
    await waitFor(settled([a, b]), 'convergence', 10000);
    expect(a.text).toBe(b.text);
    // The server's copy (after its debounced save for the real server).
    await waitForAsync(async () => (await f.text('conv.txt')) === a.text, 'server text equals the clients', 3000);
  });

  it('keeps edits made while disconnected and sends them on reconnect', async () => {
    const f = fixture();
    await f.seed('off.txt', 'one\ntwo\n');
    const a = open('off.txt', 'Ada');
    const b = open('off.txt', 'Bob');
    await waitFor(() => a.doc.isLoaded && b.doc.isLoaded, 'load');
    a.client.socket.drop(); // the network fails for Ada only
    a.edit(0, 0, 'offline ');
    a.edit(a.text.length, a.text.length, 'tail\n');
    expect(a.doc.unsent).toBeGreaterThan(0);
    b.edit(4, 4, 'online ');
    await waitFor(settled([a, b]), 'resync after reconnect', 8000);
    expect(a.text).toBe('offline one\nonline two\ntail\n');
    expect(b.text).toBe(a.text);
  });

  it('rebases unsent edits when the server restarted (versions reset)', async () => {
    const f = fixture();
    await f.seed('rs.txt', 'alpha\nbeta\n');
    const a = open('rs.txt', 'Ada');
    await waitFor(() => a.doc.isLoaded, 'load');
    a.edit(5, 5, '!');
    await waitFor(settled([a]), 'first edit');
    a.client.socket.drop();
    a.edit(0, 0, '# kept\n');
    await f.restart();
    await waitFor(() => a.doc.isLoaded && a.doc.unsent === 0 && a.doc.status === 'saved' && a.client.connected, 'rebased after restart', 10000);
    expect(a.text).toBe('# kept\nalpha!\nbeta\n');
    const b = open('rs.txt', 'Bob');
    await waitFor(() => b.doc.isLoaded, 'load b');
    expect(b.text).toBe(a.text);
  });

  it("shows the other client's cursor with name and colour, and drops it on leave", async () => {
    const f = fixture();
    await f.seed('p.txt', 'abcdef\n');
    const a = open('p.txt', 'Ada');
    const b = open('p.txt', 'Bob');
    await waitFor(() => a.doc.isLoaded && b.doc.isLoaded, 'load');
    a.select(2, 4);
    await waitFor(() => b.peers().some((p) => p.name === 'Ada' && p.ranges[0]?.anchor === 2 && p.ranges[0]?.head === 4), "Ada's selection at Bob");
    expect(b.peers()[0].color).toBe('#3366cc');
    // A remote edit before the selection moves it.
    a.edit(0, 0, 'XY');
    await waitFor(() => b.peers().some((p) => p.ranges[0]?.anchor === 4), 'mapped selection');
    editors.splice(editors.indexOf(a), 1);
    a.stop();
    await waitFor(() => b.peers().length === 0, 'peer gone');
  });
}
