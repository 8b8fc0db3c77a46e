// The IDE page (/p/<id>/): file tree, tabs, collaborative editor, Run with a
// live terminal, status bar. Talks to the hub's REST API for the playground
// itself and to the workspace and runner WebSockets through the hub.
import { EditorState, Transaction, type Extension } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { Api, ApiError, describeError, type FileEntry, type Playground } from './api';
import { CollabDoc, type DocHost, type DocStatus } from './collab';
import { editorExtensions, isRunnable, languageCompartment, languageFor, loadLanguage } from './editor';
import { TreeView, checkPath, defaultFile } from './filetree';
import { describeExit, describeRunError, formatMs, RunnerClient } from './runner';
import { wsUrl, type SocketState, type WebSocketLike } from './socket';
import type { IdeTerminal } from './terminal';
import { icon } from './icons';
import { shareDialog, signInPage, statusView } from './home';
import { brand, confirmDialog, h, identity, messagePage, prompt, themeToggle, toast } from './ui';
import type { RequestError } from './workspace';
import { startEarly, type EarlyIde } from './early';

interface Tab {
  path: string;
  doc: CollabDoc;
  state: EditorState | null; // kept while the tab is not shown
  el: HTMLElement;
  status: DocStatus;
  error?: string;
}

const browserWs = (url: string) => new WebSocket(url) as unknown as WebSocketLike;

// Exposed for the end-to-end tests (read-only inspection + timing).
declare global {
  interface Window {
    __pg?: Record<string, unknown>;
  }
}

export function renderIde(root: HTMLElement, id: string, early?: EarlyIde): () => void {
  const t0 = performance.now();
  const api = new Api();
  let first: EarlyIde | undefined = early ?? startEarly(id, api);
  const disposers: (() => void)[] = [];
  let disposed = false;
  document.title = `${id} · playground`;

  const topbar = h('header', { class: 'topbar' }, brand());
  root.append(topbar, h('div', { class: 'message-page' }, h('p', { class: 'muted', role: 'status' }, 'Opening playground…')));

  const fail = (err: unknown, retry: () => void) => {
    first?.ws.stop();
    first = undefined;
    if (disposed) return;
    root.replaceChildren(h('header', { class: 'topbar' }, brand(), h('div', { class: 'spacer' }), themeToggle()), errorPage(err, retry));
  };

  const boot = async () => {
    let pg: Playground;
    const e = first ?? startEarly(id, api);
    first = e;
    try {
      pg = await e.pg;
      // Being created: wait for it (bounded).
      for (let i = 0; i < 120 && pg.status === 'creating' && !disposed; i++) {
        await new Promise((r) => setTimeout(r, 500));
        pg = await api.getPlayground(id);
      }
      if (pg.status === 'stopped' || pg.status === 'failed') {
        if (pg.role !== 'owner') {
          fail(new ApiError('stopped', `This playground is ${pg.status}. Ask its owner to start it.`, 409), boot);
          return;
        }
        root.replaceChildren(topbar, h('div', { class: 'message-page' }, h('p', { role: 'status' }, 'Starting playground…')));
        pg = { ...pg, ...((await api.startPlayground(id)) ?? {}) };
      }
    } catch (err) {
      fail(err, boot);
      return;
    }
    if (disposed) return;
    disposers.push(mountIde(root, api, pg, t0, e));
  };
  boot();
  return () => {
    disposed = true;
    first?.ws.stop();
    disposers.forEach((f) => f());
  };
}

function errorPage(err: unknown, retry: () => void): HTMLElement {
  const home = h('a', { class: 'btn', href: '/' }, 'Your playgrounds');
  if (err instanceof ApiError) {
    if (err.status === 404)
      return messagePage({ icon: 'search', title: 'Playground not found', text: 'It may have been deleted, the link may be mistyped, or you may not have access to it.', actions: [home] });
    if (err.status === 401)
      return signInPage('No access', 'You are not signed in. Open the share link you were given again, or sign in with your token.');
    if (err.status === 403)
      return messagePage({
        icon: 'lock',
        title: 'No access',
        text: 'You do not have access to this playground. Open the share link you were given again, or ask its owner for one.',
        actions: [home],
      });
    if (err.code === 'stopped')
      return messagePage({ icon: 'pause', title: 'Playground stopped', text: err.message, actions: [h('button', { class: 'btn primary', onclick: retry }, 'Check again'), home] });
    if (err.status === 503)
      return messagePage({ icon: 'clock', title: 'Playground unavailable', text: `${err.message}. It may be starting or stopping; try again in a moment.`, actions: [h('button', { class: 'btn primary', onclick: retry }, 'Try again'), home] });
    if (err.code === 'unreachable')
      return messagePage({ icon: 'offline', title: 'Server unreachable', text: 'The playground server cannot be reached. Check your connection.', actions: [h('button', { class: 'btn primary', onclick: retry }, 'Try again'), home] });
  }
  return messagePage({ icon: 'alert', title: 'Something went wrong', text: describeError(err), actions: [h('button', { class: 'btn primary', onclick: retry }, 'Try again'), home] });
}

function mountIde(root: HTMLElement, api: Api, pg: Playground, t0: number, early: EarlyIde): () => void {
  const id = pg.id;
  const readOnly = pg.role === 'viewer';
  const me = identity();
  document.title = `${pg.name || id} · playground`;
  const tabs: Tab[] = [];
  let active: Tab | null = null;
  let lastRun = '';
  let running = false;
  let markReady = () => {};

  // ---- layout -------------------------------------------------------------
  const runBtn = h('button', { class: 'btn primary', id: 'run-btn', type: 'button', title: 'Run the current file (Ctrl+Enter)', 'aria-keyshortcuts': 'Control+Enter Meta+Enter' }, icon('play'), 'Run', h('kbd', { class: 'hide-narrow' }, navigator.platform.includes('Mac') ? '⌘↵' : 'Ctrl+↵'));
  const stopBtn = h('button', { class: 'btn small', id: 'stop-btn', type: 'button', disabled: true, title: 'Stop the running program' }, icon('stop'), 'Stop');
  const menuBtn = h('button', { class: 'btn ghost icon menu-btn', type: 'button', 'aria-label': 'Show files', title: 'Files' }, icon('menu'));
  const shareBtn = pg.role === 'owner' ? h('button', { class: 'btn hide-narrow', type: 'button', onclick: () => shareDialog(api, pg) }, 'Share') : null;
  const bar = h('header', { class: 'topbar' },
    menuBtn, brand(), h('span', { class: 'crumb hide-narrow', 'aria-hidden': 'true' }, '/'),
    h('span', { class: 'title', id: 'pg-title' }, pg.name || id),
    h('span', { class: `role-badge ${pg.role ?? ''}`, id: 'role-badge' }, readOnly ? 'read-only' : (pg.role ?? 'editor')),
    h('div', { class: 'spacer' }),
    shareBtn, readOnly ? null : runBtn, themeToggle(),
  );

  const tree = new TreeView({
    onOpen: (p) => openFile(p),
    onRename: (p) => renameFile(p),
    onDelete: (p) => deleteFile(p),
    onDownload: (p) => downloadFile(p),
  });
  tree.readOnly = readOnly;
  const upload = h('input', { type: 'file', multiple: true, class: 'sr-only', tabindex: '-1', 'aria-hidden': 'true' });
  const sideBtn = (ico: string, title: string, f: () => void) => h('button', { class: 'btn ghost small icon', type: 'button', title, 'aria-label': title, onclick: f }, icon(ico));
  const sidebar = h('nav', { class: 'sidebar', 'aria-label': 'Files' },
    h('div', { class: 'sidebar-head' }, h('span', { class: 'grow' }, 'Files'),
      readOnly ? null : sideBtn('newFile', 'New file', () => newFile()),
      readOnly ? null : sideBtn('newFolder', 'New folder', () => newFolder()),
      readOnly ? null : sideBtn('upload', 'Upload files', () => upload.click()),
      upload),
    tree.el,
  );

  const tabBar = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Open files' });
  const editorHost = h('div', { class: 'editor-host', id: 'editor' });
  const placeholder = h('div', { class: 'editor-placeholder' }, h('div', null, h('p', null, 'Open a file from the tree to start editing.'), readOnly ? null : h('p', null, 'Run it with ', h('kbd', null, 'Ctrl'), '+', h('kbd', null, 'Enter'), '.')));
  editorHost.append(placeholder);
  const connBanner = h('div', { class: 'conn-banner', role: 'alert', hidden: true });
  editorHost.append(connBanner);

  const runChip = h('span', { class: 'run-result', id: 'run-result', 'aria-live': 'polite' });
  const termHost = h('div', { class: 'term-host', id: 'terminal' });
  const termPanel = h('section', { class: 'term-panel', 'aria-label': 'Terminal' },
    h('div', { class: 'term-head' }, h('span', { class: 'term-title' }, 'Terminal'), runChip, h('span', { class: 'grow' }),
      readOnly ? null : stopBtn,
      h('button', { class: 'btn small ghost', type: 'button', onclick: () => term.clear() }, 'Clear')),
    termHost,
  );
  const splitter = h('div', { class: 'splitter', role: 'separator', 'aria-orientation': 'horizontal', 'aria-label': 'Resize terminal', tabindex: '0' });
  const workarea = h('main', { class: 'workarea' }, tabBar, editorHost, splitter, termPanel);

  const sConn = h('span', { class: 'item', id: 'conn-status' }, h('span', { class: 'dot warn' }), 'Connecting…');
  const sSaved = h('span', { class: 'item', id: 'save-status' });
  const sRun = h('span', { class: 'item', id: 'run-status' });
  const sLang = h('span', { class: 'item hide-narrow', id: 'lang-status' });
  const sName = h('button', { class: 'item', type: 'button', title: 'Your name as others see it', id: 'me' }, h('span', { class: 'dot', style: `background:${me.color}` }), me.name);
  const statusbar = h('footer', { class: 'statusbar', role: 'status' }, sConn, sSaved, sRun, h('span', { class: 'grow' }), sLang, h('span', { class: 'item hide-narrow' }, statusView(pg.status)), sName);

  const ide = h('div', { class: 'ide' }, bar, h('div', { class: 'ide-main' }, sidebar, workarea), statusbar);
  root.replaceChildren(ide);
  menuBtn.addEventListener('click', () => ide.classList.toggle('show-sidebar'));

  // ---- terminal + runner --------------------------------------------------
  // xterm.js is loaded after the editor is ready (or after 1.5 s): it is not
  // needed to start typing, and parsing it would delay the first document.
  const term = new TermProxy();
  let termRequested = false;
  const loadTerminal = () => {
    if (termRequested) return;
    termRequested = true;
    import('./terminal').then(({ IdeTerminal }) => {
      if (!termHost.isConnected) return;
      const t = new IdeTerminal(termHost, (cols, rows) => runner.resize(cols, rows));
      t.term.onData((d) => {
        if (runner.busy) runner.stdin(d);
      });
      term.attach(t);
    });
  };
  const termFallback = setTimeout(loadTerminal, 1500);
  const runner = new RunnerClient({
    url: () => wsUrl(`/p/${encodeURIComponent(id)}/run`),
    factory: browserWs,
    onState: () => updateRunBtn(),
  });

  // ---- workspace ----------------------------------------------------------
  const ws = early.ws;
  const bridge = early.bridge;
  const onTree = (entries: FileEntry[]) => {
    tree.setEntries(entries);
    if (!tabs.length && !firstOpened) {
      firstOpened = true;
      const f = defaultFile(entries);
      if (f) openFile(f);
    }
  };
  bridge.onState = (_s, info) => updateConn(info);
  bridge.onFs = (changes) => tree.apply(changes);
  bridge.onError = (e) => toast(`Workspace: ${e.message}`, 'error');
  let firstOpened = false;

  let retryTimer: ReturnType<typeof setInterval> | null = null;
  function updateConn(info?: { attempt: number; retryInMs?: number; closeCode?: number }) {
    const s: SocketState = ws.socket.state;
    const dot = (cls: string) => h('span', { class: `dot ${cls}`, 'aria-hidden': 'true' });
    if (retryTimer) clearInterval(retryTimer);
    retryTimer = null;
    if (s === 'open') {
      sConn.replaceChildren(dot('ok'), 'Connected');
      connBanner.hidden = true;
    } else if (s === 'closed') {
      sConn.replaceChildren(dot('bad'), 'Disconnected');
      connBanner.className = 'conn-banner error';
      const why = info?.closeCode === 4403 || info?.closeCode === 4401 ? 'You no longer have access to this playground.' : info?.closeCode === 4404 ? 'This playground no longer exists.' : 'The connection was closed.';
      connBanner.replaceChildren(h('span', null, why), h('button', { class: 'btn small', type: 'button', onclick: () => ws.socket.retryNow() }, 'Reconnect'));
      connBanner.hidden = false;
    } else {
      const first = s === 'connecting' && !ws.clientNumber;
      sConn.replaceChildren(dot('warn'), first ? 'Connecting…' : 'Reconnecting…');
      if (s === 'reconnecting' && info?.retryInMs !== undefined) {
        let left = Math.ceil(info.retryInMs / 1000);
        const text = h('span', null);
        const paint = () => (text.textContent = `Connection lost. Your edits are kept and will be sent when it is back. Reconnecting${left > 0 ? ` in ${left} s` : ''}…`);
        paint();
        retryTimer = setInterval(() => {
          left--;
          paint();
        }, 1000);
        connBanner.className = 'conn-banner';
        connBanner.replaceChildren(text, h('button', { class: 'btn small', type: 'button', onclick: () => ws.socket.retryNow() }, 'Retry now'));
        connBanner.hidden = false;
      }
    }
    updateRunBtn();
  }
  function updateRunBtn() {
    runBtn.disabled = running || (runner.socket.state !== 'open' && !runner.busy);
    runBtn.title = runner.socket.state !== 'open' ? 'Waiting for the runner connection…' : 'Run the current file (Ctrl+Enter)';
  }

  // ---- editor -------------------------------------------------------------
  const langs = new Map<string, Extension>();
  const extensionsFor = (path: string): Extension =>
    editorExtensions({ readOnly, onRun: () => (runCurrent(), true), onSave: () => (saveHint(), true) }, langs.get(path));
  // Language support goes in through the compartment once loaded.
  const withLanguage = (path: string, state: EditorState): EditorState => {
    const l = langs.get(path);
    return l ? state.update({ effects: languageCompartment.reconfigure(l) }).state : state;
  };

  const view = new EditorView({
    parent: editorHost,
    state: EditorState.create({ doc: '' }),
    dispatchTransactions: (trs, v) => {
      v.update(trs);
      if (!active) return;
      let docChanged = false;
      let sel = false;
      for (const tr of trs) {
        if (tr.annotation(Transaction.remote)) continue;
        if (tr.docChanged) docChanged = true;
        if (tr.selection) sel = true;
      }
      active.doc.onLocalTransaction(docChanged, sel);
    },
  });
  view.dom.hidden = true;

  function hostFor(tab: { state: EditorState | null; path: string }): DocHost {
    return {
      get state() {
        return isShown(tab) ? view.state : tab.state!;
      },
      dispatch(spec) {
        if (isShown(tab)) {
          if (spec instanceof Transaction) view.dispatch(spec);
          else view.dispatch(spec);
        } else if (tab.state) {
          tab.state = spec instanceof Transaction ? spec.state : tab.state.update(spec).state;
        }
      },
      setState(s) {
        s = withLanguage(tab.path, s);
        if (isShown(tab)) {
          view.setState(s);
        } else {
          tab.state = s;
        }
      },
    };
  }
  const isShown = (tab: { path: string }) => !!active && active.path === tab.path && active.state === null;
  void isShown;

  function openFile(path: string) {
    let tab = tabs.find((t) => t.path === path);
    if (!tab) {
      const t: Tab = { path, doc: null as unknown as CollabDoc, state: EditorState.create({ doc: '' }), el: h('div'), status: 'loading' };
      const host = hostFor(t);
      t.doc = new CollabDoc(path, host, {
        extensions: extensionsFor,
        onStatus: (s, detail) => {
          t.status = s;
          t.error = detail;
          paintTab(t);
          if (t === active) paintStatus();
        },
        onLoaded: () => {
          if (t === active) showActive();
        },
        onClosed: (reason, to) => {
          if (reason === 'renamed' && to) {
            toast(`${path} was renamed to ${to}`);
            const wasActive = active === t;
            closeTab(t, false);
            if (wasActive) openFile(to);
          } else {
            const why: Record<string, string> = {
              deleted: 'was deleted',
              not_text: 'was rewritten with content that is not text, so it was closed',
              too_large: 'grew over the size limit for editing, so it was closed',
              unreadable: 'could not be read any more, so it was closed',
            };
            toast(`${path} ${why[reason] ?? 'was closed'}`, reason === 'deleted' ? 'info' : 'error');
            closeTab(t, false);
          }
        },
      });
      t.el = tabEl(t);
      tabs.push(t);
      tabBar.append(t.el);
      tab = t;
      loadLanguage(path).then((ext) => {
        if (!ext) return;
        langs.set(path, ext);
        host.dispatch({ effects: languageCompartment.reconfigure(ext) });
        if (t === active) paintStatus();
      }, () => {});
      ws.attach(t.doc);
    }
    activate(tab);
  }

  function activate(tab: Tab) {
    if (active === tab) {
      if (tab.doc.isLoaded) view.focus();
      return;
    }
    if (active && active.state === null) active.state = view.state;
    active = tab;
    tree.setActive(tab.path);
    for (const t of tabs) {
      t.el.classList.toggle('active', t === tab);
      t.el.setAttribute('aria-selected', String(t === tab));
    }
    showActive();
    ide.classList.remove('show-sidebar');
  }

  function showActive() {
    const tab = active;
    if (!tab) {
      view.dom.hidden = true;
      placeholder.hidden = false;
      placeholder.firstElementChild!.replaceChildren(h('p', null, 'Open a file from the tree to start editing.'));
      paintStatus();
      return;
    }
    if (tab.doc.isLoaded) {
      if (tab.state) {
        view.setState(tab.state);
        tab.state = null;
      }
      view.dom.hidden = false;
      placeholder.hidden = true;
      view.focus();
      markReady();
    } else {
      view.dom.hidden = true;
      placeholder.hidden = false;
      placeholder.firstElementChild!.replaceChildren(h('p', null, tab.error ?? `Loading ${tab.path}…`));
    }
    paintStatus();
  }

  function tabEl(t: Tab): HTMLElement {
    const close = h('button', { class: 'close', type: 'button', 'aria-label': `Close ${t.path}`, title: 'Close', tabindex: '-1' }, '×');
    close.addEventListener('click', (e) => {
      e.stopPropagation();
      closeTab(t, true);
    });
    const el = h('div', { class: 'tab', role: 'tab', tabindex: '0', 'aria-selected': 'false', title: t.path, 'data-path': t.path }, h('span', null, t.path.split('/').pop()!), h('span', { class: 'dirty', hidden: true }), close);
    el.addEventListener('click', () => activate(t));
    el.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        activate(t);
      } else if (e.key === 'Delete') closeTab(t, true);
    });
    el.addEventListener('auxclick', (e) => {
      if (e.button === 1) closeTab(t, true);
    });
    return el;
  }

  function paintTab(t: Tab) {
    const dirty = t.el.querySelector<HTMLElement>('.dirty');
    if (dirty) dirty.hidden = t.status !== 'unsaved' && t.status !== 'offline';
    if (t === active && !t.doc.isLoaded) showActive();
  }

  function closeTab(t: Tab, sendClose: boolean) {
    const i = tabs.indexOf(t);
    if (i < 0) return;
    if (sendClose && t.doc.unsent > 0 && ws.connected) {
      // The edits are already queued; give them a moment to reach the server.
      t.doc.whenSynced(2000).finally(() => t.doc.close());
    } else if (sendClose) t.doc.close();
    tabs.splice(i, 1);
    t.el.remove();
    if (active === t) {
      active = null;
      const next = tabs[i] ?? tabs[i - 1];
      if (next) activate(next);
      else {
        view.setState(EditorState.create({ doc: '' }));
        showActive();
      }
    }
  }

  function paintStatus() {
    const t = active;
    const lang = t ? languageFor(t.path) : null;
    sLang.textContent = t ? (lang?.name ?? 'Plain text') : '';
    if (!t) {
      sSaved.replaceChildren();
      return;
    }
    const labels: Record<DocStatus, [string, string]> = {
      loading: ['warn', 'Loading…'],
      saved: ['ok', 'Saved'],
      unsaved: ['warn', 'Saving…'],
      offline: ['warn', t.doc.unsent ? `${t.doc.unsent} unsent edit${t.doc.unsent > 1 ? 's' : ''} kept` : 'Offline'],
      error: ['bad', t.error ?? 'Error'],
    };
    const [cls, text] = labels[t.status];
    sSaved.replaceChildren(h('span', { class: `dot ${cls}`, 'aria-hidden': 'true' }), text);
    sSaved.dataset.state = t.status;
  }

  function saveHint() {
    toast('Your changes are saved automatically.');
  }

  // ---- files --------------------------------------------------------------
  const wsErr = (what: string) => (e: RequestError | Error) => toast(`${what}: ${'code' in e && e.code === 'exists' ? 'a file with that name already exists' : e.message}`, 'error');

  async function newFile() {
    const dir = tree.targetDir();
    const name = await prompt({ title: 'New file', value: dir ? `${dir}/` : '', placeholder: 'main.py or src/util.py', ok: 'Create' });
    if (name === null) return;
    const bad = checkPath(name);
    if (bad) return toast(bad, 'error');
    ws.create(name, 'file').then(() => openFile(name), wsErr('Could not create the file'));
  }

  async function newFolder() {
    const dir = tree.targetDir();
    const name = await prompt({ title: 'New folder', value: dir ? `${dir}/` : '', placeholder: 'src', ok: 'Create' });
    if (name === null) return;
    const bad = checkPath(name);
    if (bad) return toast(bad, 'error');
    ws.create(name, 'dir').catch(wsErr('Could not create the folder'));
  }

  async function renameFile(path: string) {
    const to = await prompt({ title: `Rename ${path}`, value: path, ok: 'Rename' });
    if (to === null || to === path) return;
    const bad = checkPath(to);
    if (bad) return toast(bad, 'error');
    ws.rename(path, to).catch(wsErr('Could not rename'));
  }

  async function deleteFile(path: string) {
    if (!(await confirmDialog(`Delete ${path}?`, 'It is removed from the playground for everyone.'))) return;
    ws.remove(path).then(() => toast(`Deleted ${path}`), wsErr('Could not delete'));
  }

  async function downloadFile(path: string) {
    try {
      const f = await ws.read(path);
      const bin = atob(f.base64 ?? '');
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      const a = h('a', { href: url, download: path.split('/').pop() });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      toast(`Could not download ${path}: ${(e as Error).message}`, 'error');
    }
  }

  async function uploadFiles(files: FileList | File[]) {
    const max = ws.limits.maxFile ?? 10 * 1024 * 1024;
    const dir = tree.targetDir();
    for (const f of Array.from(files)) {
      if (f.size > max) {
        toast(`${f.name} is too large (limit ${Math.round(max / 1048576)} MiB)`, 'error');
        continue;
      }
      const buf = new Uint8Array(await f.arrayBuffer());
      let bin = '';
      for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
      const path = dir ? `${dir}/${f.name}` : f.name;
      await ws.write(path, { base64: btoa(bin) }).then(() => toast(`Uploaded ${path}`), wsErr(`Could not upload ${f.name}`));
    }
  }
  upload.addEventListener('change', () => {
    if (upload.files?.length) uploadFiles(upload.files).finally(() => (upload.value = ''));
  });
  if (!readOnly) {
    sidebar.addEventListener('dragover', (e) => {
      e.preventDefault();
      sidebar.classList.add('dragover');
    });
    sidebar.addEventListener('dragleave', () => sidebar.classList.remove('dragover'));
    sidebar.addEventListener('drop', (e) => {
      e.preventDefault();
      sidebar.classList.remove('dragover');
      if (e.dataTransfer?.files.length) uploadFiles(e.dataTransfer.files);
    });
  }

  // ---- running ------------------------------------------------------------
  async function runCurrent() {
    if (readOnly || running) return;
    const t = active;
    if (!t) return toast('Open a file to run it.', 'error');
    if (!isRunnable(t.path)) toast(`Trying to run ${t.path}; the runner decides by its extension.`);
    running = true;
    runBtn.disabled = true;
    try {
      // The runner reads the file from disk: wait until our edits are
      // accepted, and the debounced save (≤ 200 ms) is done.
      await t.doc.whenSynced(5000);
      const since = Date.now() - t.doc.lastAcceptedAt;
      if (since < 250) await new Promise((r) => setTimeout(r, 250 - since));
    } catch (e) {
      running = false;
      runBtn.disabled = false;
      toast(`${(e as Error).message}. Check the connection, then run again.`, 'error');
      return;
    }
    term.reset();
    term.writeLines(`▶ ${t.path}\n`, 'dim');
    runChip.className = 'run-result running';
    runChip.textContent = 'running…';
    const started = performance.now();
    const ok = runner.startRun(
      { entry: t.path, cols: term.cols, rows: term.rows, tty: true },
      {
        onStarted: () => {
          stopBtn.disabled = false;
          term.focus();
        },
        onCompile: (data, cached) => {
          if (data) term.writeLines(data.endsWith('\n') ? data : data + '\n', 'red');
          else if (cached) term.writeLines('(compiled program reused)\n', 'dim');
        },
        onOutput: (data) => term.write(data),
        onExit: (e) => {
          finish();
          const d = describeExit(e);
          if (e.status === 'compile_error' && !e.compile_output) term.writeLines('Compilation failed.\n', 'red');
          if (e.output_truncated) term.writeLines('\n[output truncated at the limit]', 'yellow');
          term.writeLines(`\n── ${e.status === 'compile_error' ? 'Compile error: the program did not run' : d.text} ──\n`, d.ok ? 'green' : e.status === 'killed' ? 'yellow' : 'red');
          runChip.className = `run-result ${d.ok ? 'ok' : 'bad'}`;
          runChip.textContent = e.status === 'compile_error' ? 'compile error' : d.text;
          lastRun = d.text;
          sRun.replaceChildren(h('span', { class: `dot ${d.ok ? 'ok' : 'bad'}`, 'aria-hidden': 'true' }), `Last run: ${d.text}`);
          sRun.dataset.status = e.status;
        },
        onError: (code, message) => {
          finish();
          const text = describeRunError(code, message);
          term.writeLines(`${text}\n`, 'red');
          runChip.className = 'run-result bad';
          runChip.textContent = code === 'run_limit' ? 'run limit reached' : 'failed';
          if (code === 'run_limit' || code === 'disconnected') toast(text, 'error');
          sRun.replaceChildren(h('span', { class: 'dot bad', 'aria-hidden': 'true' }), `Last run: ${code.replace(/_/g, ' ')} after ${formatMs(performance.now() - started)}`);
          sRun.dataset.status = code;
        },
      },
    );
    if (!ok) {
      finish();
      const text = 'The runner is not connected yet; try again in a moment.';
      term.writeLines(text + '\n', 'red');
      runChip.className = 'run-result bad';
      runChip.textContent = 'not connected';
    }
    function finish() {
      running = false;
      stopBtn.disabled = true;
      updateRunBtn();
    }
  }
  runBtn.addEventListener('click', () => runCurrent());
  stopBtn.addEventListener('click', () => runner.kill());
  const onKey = (e: KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter' && !e.defaultPrevented) {
      e.preventDefault();
      runCurrent();
    }
  };
  document.addEventListener('keydown', onKey);

  // ---- name, splitter -------------------------------------------------------
  sName.addEventListener('click', async () => {
    const name = await prompt({ title: 'Your name', message: 'Shown to others next to your cursor.', value: ws.name, ok: 'Save' });
    if (!name) return;
    const n = name.slice(0, 40);
    try {
      localStorage.setItem('pg-name', n);
    } catch {
      /* ignore */
    }
    ws.setIdentity(n, ws.color);
    sName.replaceChildren(h('span', { class: 'dot', style: `background:${ws.color}` }), n);
  });
  const setTermHeight = (px: number) => {
    const total = workarea.clientHeight;
    const clamped = Math.max(80, Math.min(total - 160, px));
    workarea.style.setProperty('--term-h', `${clamped}px`);
  };
  splitter.addEventListener('pointerdown', (e) => {
    splitter.setPointerCapture(e.pointerId);
    const move = (ev: PointerEvent) => setTermHeight(workarea.getBoundingClientRect().bottom - ev.clientY);
    const up = () => {
      splitter.removeEventListener('pointermove', move);
      splitter.removeEventListener('pointerup', up);
    };
    splitter.addEventListener('pointermove', move);
    splitter.addEventListener('pointerup', up);
  });
  splitter.addEventListener('keydown', (e) => {
    const cur = termPanel.getBoundingClientRect().height;
    if (e.key === 'ArrowUp') setTermHeight(cur + 24);
    else if (e.key === 'ArrowDown') setTermHeight(cur - 24);
    else return;
    e.preventDefault();
  });

  // For the end-to-end tests: state inspection and the time to interactive.
  const w = window;
  w.__pg = {
    view,
    ws,
    runner,
    readyMs: 0,
    text: () => view.state.doc.toString(),
    activePath: () => active?.path ?? null,
    unsent: () => active?.doc.unsent ?? 0,
    lastRun: () => lastRun,
  };
  markReady = () => {
    if (!w.__pg!.readyMs && active?.doc.isLoaded) {
      w.__pg!.readyMs = performance.now() - t0;
      w.__pg!.navMs = performance.now();
      document.body.dataset.ready = 'true';
      setTimeout(loadTerminal, 0);
    }
  };

  bridge.onTree = onTree;
  if (bridge.tree) onTree(bridge.tree);
  if (!readOnly) runner.start();
  updateConn(bridge.state?.info);
  return () => {
    clearTimeout(termFallback);
    if (retryTimer) clearInterval(retryTimer);
    document.removeEventListener('keydown', onKey);
    for (const t of tabs) t.doc.close();
    bridge.onState = bridge.onTree = bridge.onFs = bridge.onError = undefined;
    ws.stop();
    runner.stop();
    term.dispose();
    view.destroy();
  };
}

// Stands in for the terminal until xterm.js is loaded: calls wait in order.
class TermProxy {
  private t: IdeTerminal | null = null;
  private queue: ((t: IdeTerminal) => void)[] = [];
  private disposed = false;
  attach(t: IdeTerminal): void {
    if (this.disposed) return t.dispose();
    this.t = t;
    for (const f of this.queue) f(t);
    this.queue = [];
  }
  private do(f: (t: IdeTerminal) => void): void {
    if (this.t) f(this.t);
    else this.queue.push(f);
  }
  write(s: string): void {
    this.do((t) => t.write(s));
  }
  writeLines(s: string, color?: 'red' | 'dim' | 'green' | 'yellow'): void {
    this.do((t) => t.writeLines(s, color));
  }
  reset(): void {
    this.do((t) => t.term.reset());
  }
  clear(): void {
    this.do((t) => t.term.clear());
  }
  focus(): void {
    this.do((t) => t.term.focus());
  }
  get cols(): number {
    return this.t?.term.cols ?? 80;
  }
  get rows(): number {
    return this.t?.term.rows ?? 24;
  }
  dispose(): void {
    this.disposed = true;
    this.t?.dispose();
  }
}
