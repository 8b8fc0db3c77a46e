// Home page: the user's playgrounds, create from a template, open, stop,
// start, delete, share.
import { Api, ApiError, describeError, type Playground, type Template } from './api';
import { brand, confirmDialog, copyText, h, messagePage, relativeTime, themeToggle, toast } from './ui';
import { navigate } from './router';

const TEMPLATES: { id: Template; name: string; desc: string; icon: string; color: string }[] = [
  { id: 'python', name: 'Python', desc: 'Python 3 script', icon: 'py', color: '#3572A5' },
  { id: 'c', name: 'C', desc: 'gcc, C17', icon: 'C', color: '#555a9e' },
  { id: 'cpp', name: 'C++', desc: 'g++, C++20', icon: 'C++', color: '#f34b7d' },
  { id: 'node', name: 'Node.js', desc: 'JavaScript', icon: 'js', color: '#c9a400' },
  { id: 'blank', name: 'Blank', desc: 'Empty folder', icon: '∅', color: '#6b7385' },
];

export function renderHome(root: HTMLElement): () => void {
  const api = new Api();
  let disposed = false;
  let selected: Template = 'python';
  document.title = 'Playgrounds · playground';

  const listBox = h('div', { class: 'card', 'aria-busy': 'true' }, h('div', { class: 'empty' }, 'Loading your playgrounds…'));
  const nameInput = h('input', { class: 'input', id: 'pg-name', placeholder: 'Name (e.g. "Homework 3")', maxlength: '100', 'aria-label': 'Playground name' });
  const createBtn = h('button', { class: 'btn primary', type: 'submit', id: 'create-btn' }, 'Create playground');
  const tplButtons = TEMPLATES.map((t) =>
    h('button', {
      class: 'tpl', type: 'button', role: 'radio', 'aria-checked': String(t.id === selected), 'data-template': t.id,
      tabindex: t.id === selected ? '0' : '-1',
      onclick: () => select(t.id),
    },
      h('span', { class: 'tpl-icon', style: `background:${t.color}`, 'aria-hidden': 'true' }, t.icon),
      h('span', { class: 'tpl-name' }, t.name),
      h('span', { class: 'tpl-desc' }, t.desc),
    ),
  );
  const tplGroup = h('div', { class: 'templates', role: 'radiogroup', 'aria-label': 'Template' }, ...tplButtons);
  tplGroup.addEventListener('keydown', (e) => {
    const i = TEMPLATES.findIndex((t) => t.id === selected);
    let j = -1;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') j = (i + 1) % TEMPLATES.length;
    if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') j = (i + TEMPLATES.length - 1) % TEMPLATES.length;
    if (j >= 0) {
      e.preventDefault();
      select(TEMPLATES[j].id);
      tplButtons[j].focus();
    }
  });
  function select(id: Template) {
    selected = id;
    tplButtons.forEach((b) => {
      const on = b.dataset.template === id;
      b.setAttribute('aria-checked', String(on));
      b.tabIndex = on ? 0 : -1;
    });
  }

  const form = h('form', { class: 'card create', 'aria-labelledby': 'create-title' },
    h('h2', { id: 'create-title' }, 'New playground'),
    tplGroup,
    h('div', { class: 'create-row' }, nameInput, createBtn),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const tpl = TEMPLATES.find((t) => t.id === selected)!;
    const name = nameInput.value.trim() || `${tpl.name} playground`;
    createBtn.disabled = true;
    createBtn.textContent = 'Creating…';
    try {
      const pg = await api.createPlayground(name, selected);
      navigate(`/p/${encodeURIComponent(pg.id)}/`);
    } catch (err) {
      toast(describeError(err), 'error');
      createBtn.disabled = false;
      createBtn.textContent = 'Create playground';
    }
  });

  const page = h('main', { class: 'home' },
    h('h1', null, 'Your playgrounds'),
    h('p', { class: 'lead' }, 'Isolated workspaces with an editor, a terminal and live collaboration.'),
    form,
    h('div', { class: 'list-head' }, h('h2', null, 'All playgrounds'),
      h('button', { class: 'btn small ghost', type: 'button', onclick: () => load() }, '↻ Refresh')),
    listBox,
  );
  root.append(h('header', { class: 'topbar' }, brand(), h('div', { class: 'spacer' }), themeToggle()), page);

  async function load() {
    listBox.setAttribute('aria-busy', 'true');
    try {
      const items = await api.listAllPlaygrounds();
      if (disposed) return;
      renderList(items);
    } catch (err) {
      if (disposed) return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        root.replaceChildren(h('header', { class: 'topbar' }, brand(), h('div', { class: 'spacer' }), themeToggle()), signInPage());
        return;
      }
      listBox.replaceChildren(
        h('div', { class: 'empty', role: 'alert' },
          h('p', null, describeError(err)),
          h('button', { class: 'btn', type: 'button', onclick: () => load() }, 'Try again')),
      );
    } finally {
      listBox.removeAttribute('aria-busy');
    }
  }

  function renderList(items: Playground[]) {
    if (!items.length) {
      listBox.replaceChildren(h('div', { class: 'empty' }, 'No playgrounds yet. Pick a template above and create your first one.'));
      return;
    }
    items.sort((a, b) => (b.last_used_at ?? b.created_at ?? '').localeCompare(a.last_used_at ?? a.created_at ?? ''));
    const rows = items.map((pg) => row(pg));
    listBox.replaceChildren(
      h('table', { class: 'pg-table' },
        h('thead', null, h('tr', null,
          h('th', null, 'Name'), h('th', { class: 'col-template' }, 'Template'), h('th', null, 'Status'),
          h('th', { class: 'col-used' }, 'Last used'), h('th', null, h('span', { class: 'sr-only' }, 'Actions')))),
        h('tbody', null, ...rows),
      ),
    );
  }

  function row(pg: Playground): HTMLTableRowElement {
    const tpl = TEMPLATES.find((t) => t.id === pg.template);
    const running = pg.status === 'running';
    const busy = (b: HTMLButtonElement, f: () => Promise<unknown>) => async () => {
      b.disabled = true;
      try {
        await f();
        await load();
      } catch (err) {
        toast(describeError(err), 'error');
        b.disabled = false;
      }
    };
    const stopStart = h('button', { class: 'btn small', type: 'button' }, running ? 'Stop' : 'Start');
    stopStart.addEventListener('click', busy(stopStart, () => (running ? api.stopPlayground(pg.id) : api.startPlayground(pg.id))));
    const del = h('button', { class: 'btn small danger', type: 'button', 'aria-label': `Delete ${pg.name}` }, 'Delete');
    del.addEventListener('click', async () => {
      if (!(await confirmDialog(`Delete “${pg.name}”?`, 'Its files and containers are removed for good. This cannot be undone.'))) return;
      await busy(del, () => api.deletePlayground(pg.id))();
      toast(`Deleted ${pg.name}`);
    });
    const share = h('button', { class: 'btn small', type: 'button', onclick: () => shareDialog(api, pg) }, 'Share');
    return h('tr', { 'data-id': pg.id },
      h('td', { class: 'pg-name' }, h('a', { href: `/p/${encodeURIComponent(pg.id)}/` }, pg.name || pg.id), h('span', { class: 'pg-id' }, pg.id)),
      h('td', { class: 'col-template' }, h('span', { class: 'chip' }, tpl ? tpl.name : pg.template)),
      h('td', null, statusView(pg.status)),
      h('td', { class: 'col-used', title: pg.last_used_at ?? '' }, relativeTime(pg.last_used_at ?? pg.created_at)),
      h('td', null, h('div', { class: 'actions' },
        h('a', { class: 'btn small primary', href: `/p/${encodeURIComponent(pg.id)}/` }, 'Open'),
        share, stopStart, del)),
    );
  }

  load();
  setTimeout(() => nameInput.focus(), 0);
  return () => {
    disposed = true;
  };
}

export function statusView(status: string): HTMLElement {
  const cls = status === 'running' ? 'ok' : status === 'stopped' ? '' : status === 'error' || status === 'failed' ? 'bad' : 'warn';
  return h('span', { class: 'status' }, h('span', { class: `dot ${cls}`, 'aria-hidden': 'true' }), status || 'unknown');
}

export function signInPage(title = 'Sign in', text = 'Open the login link printed by `playground serve`, or paste the admin token (from <data-dir>/admin-token).'): HTMLElement {
  const input = h('input', { class: 'input', name: 'token', type: 'password', placeholder: 'Admin token', 'aria-label': 'Admin token', autocomplete: 'off', required: true });
  return messagePage({
    icon: 'key',
    title,
    text,
    extra: h('form', { class: 'login-form', method: 'get', action: '/login' }, input,
      h('input', { type: 'hidden', name: 'next', value: location.pathname }),
      h('button', { class: 'btn primary', type: 'submit' }, 'Sign in')),
  });
}

// The share dialog: makes an editor or viewer link and copies it.
export function shareDialog(api: Api, pg: Playground): void {
  const out = h('div', null);
  const make = (role: 'editor' | 'viewer') => async () => {
    out.replaceChildren(h('p', null, 'Creating link…'));
    try {
      const link = await api.createShareLink(pg.id, role);
      const url = new URL(link.url || `/p/${pg.id}/?token=${encodeURIComponent(link.token)}`, location.origin).href;
      const field = h('input', { class: 'input', readonly: true, value: url, 'aria-label': `${role} link` });
      const copy = h('button', { class: 'btn primary', type: 'button' }, 'Copy');
      copy.addEventListener('click', async () => {
        toast((await copyText(url)) ? 'Link copied' : 'Copy failed: select the link and copy it', 'info');
      });
      out.replaceChildren(h('p', null, role === 'viewer' ? 'Anyone with this link can read the code, but not edit or run it.' : 'Anyone with this link can edit and run code.'), h('div', { class: 'share-url' }, field, copy));
      field.select();
      if (await copyText(url)) toast(`${role === 'viewer' ? 'Viewer' : 'Editor'} link copied`);
    } catch (err) {
      // The playground exists (we are looking at it): a 404/405 here means
      // the server has no share links.
      const msg = err instanceof ApiError && (err.status === 404 || err.status === 405)
        ? 'Share links are not available on this server yet.'
        : describeError(err);
      out.replaceChildren(h('div', { class: 'banner error', role: 'alert' }, msg));
    }
  };
  const dlg = h('dialog', { 'aria-labelledby': 'share-title' },
    h('h2', { id: 'share-title' }, `Share “${pg.name}”`),
    h('p', null, 'Create a link that gives access to this playground.'),
    h('div', { class: 'actions', style: 'justify-content:flex-start;margin-bottom:12px' },
      h('button', { class: 'btn', type: 'button', onclick: make('editor') }, 'Editor link'),
      h('button', { class: 'btn', type: 'button', onclick: make('viewer') }, 'Viewer link (read-only)')),
    out,
    h('form', { method: 'dialog', class: 'row' }, h('button', { class: 'btn', type: 'submit' }, 'Close')),
  );
  document.body.append(dlg);
  dlg.addEventListener('close', () => dlg.remove());
  dlg.showModal();
}
