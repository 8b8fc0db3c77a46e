// Small DOM helpers: element builder, toasts, dialogs, theme toggle.
import { icon } from './icons';

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, unknown> & { class?: string; style?: string };

// h('button', {class: 'btn', onclick: f}, 'Run') builds an element. Attributes
// starting with "on" become listeners; others are set as attributes
// (true -> present, false/null -> absent). Text children are never parsed
// as HTML.
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs)
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
      else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

let toastBox: HTMLElement | null = null;

export function toast(message: string, kind: 'info' | 'error' = 'info', ms = 4000): void {
  if (!toastBox || !toastBox.isConnected) {
    toastBox = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const t = h('div', { class: `toast ${kind}` }, message);
  toastBox.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? ms * 1.5 : ms);
}

// A modal dialog; resolves with the value of `input` (or true for a
// confirmation) or null when cancelled.
export function prompt(opts: {
  title: string;
  message?: string;
  value?: string;
  placeholder?: string;
  ok?: string;
  danger?: boolean;
  input?: boolean;
}): Promise<string | null> {
  return new Promise((resolve) => {
    const input = opts.input === false ? null : h('input', { class: 'input', value: opts.value ?? '', placeholder: opts.placeholder ?? '', 'aria-label': opts.title });
    const dlg: HTMLDialogElement = h('dialog', null,
      h('form', { method: 'dialog' },
        h('h2', null, opts.title),
        opts.message ? h('p', null, opts.message) : null,
        input,
        h('div', { class: 'row' },
          // Not a submit button: Enter in the input must mean OK.
          h('button', { class: 'btn', type: 'button', onclick: () => dlg.close('cancel') }, 'Cancel'),
          h('button', { class: `btn ${opts.danger ? 'danger' : 'primary'}`, value: 'ok', type: 'submit' }, opts.ok ?? 'OK'),
        ),
      ),
    );
    document.body.append(dlg);
    dlg.addEventListener('close', () => {
      const ok = dlg.returnValue === 'ok';
      dlg.remove();
      resolve(ok ? (input ? input.value.trim() : 'ok') : null);
    });
    dlg.showModal();
    if (input) {
      input.focus();
      const dot = input.value.lastIndexOf('.');
      input.setSelectionRange(0, dot > 0 ? dot : input.value.length);
    }
  });
}

export async function confirmDialog(title: string, message: string, ok = 'Delete'): Promise<boolean> {
  return (await prompt({ title, message, ok, danger: true, input: false })) !== null;
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API needs a secure context; fall back to a selection copy.
    const ta = h('textarea', { style: 'position:fixed;opacity:0' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

export function currentTheme(): 'light' | 'dark' {
  const t = document.documentElement.dataset.theme;
  if (t === 'light' || t === 'dark') return t;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

const themeListeners = new Set<() => void>();
export function onThemeChange(f: () => void): () => void {
  themeListeners.add(f);
  return () => themeListeners.delete(f);
}
if (typeof matchMedia !== 'undefined') matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => themeListeners.forEach((f) => f()));

export function themeToggle(): HTMLButtonElement {
  const btn = h('button', { class: 'btn ghost icon', type: 'button', title: 'Toggle light/dark theme', 'aria-label': 'Toggle light/dark theme' });
  const paint = () => btn.replaceChildren(icon(currentTheme() === 'dark' ? 'sun' : 'moon'));
  btn.addEventListener('click', () => {
    const next = currentTheme() === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem('pg-theme', next);
    } catch {
      /* private mode */
    }
    themeListeners.forEach((f) => f());
  });
  onThemeChange(paint);
  paint();
  return btn;
}

export function brand(): HTMLAnchorElement {
  return h('a', { class: 'brand', href: '/', 'aria-label': 'playground home' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, icon('play')), h('span', { class: 'brand-text' }, 'playground'));
}

export function relativeTime(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  if (s < 90) return '1 minute ago';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minutes ago`;
  const hr = Math.round(m / 60);
  if (hr < 24) return hr === 1 ? '1 hour ago' : `${hr} hours ago`;
  const d = Math.round(hr / 24);
  if (d < 30) return d === 1 ? 'yesterday' : `${d} days ago`;
  return new Date(t).toLocaleDateString();
}

// A full-page message (not found, no access, unreachable...).
export function messagePage(opts: { icon: string; title: string; text: string; actions?: Node[]; extra?: Node }): HTMLElement {
  return h('div', { class: 'message-page' },
    h('div', { class: 'card', role: 'alert' },
      h('div', { class: 'big', 'aria-hidden': 'true' }, icon(opts.icon)),
      h('h1', null, opts.title),
      h('p', null, opts.text),
      opts.extra ?? null,
      opts.actions?.length ? h('div', { class: 'actions', style: 'justify-content:center;margin-top:16px' }, ...opts.actions) : null,
    ),
  );
}

export function identity(): { name: string; color: string } {
  const colors = ['#e5484d', '#f76b15', '#d6a10b', '#30a46c', '#12a594', '#0090ff', '#3e63dd', '#8e4ec6', '#d6409f'];
  let name = '';
  let color = '';
  try {
    name = localStorage.getItem('pg-name') ?? '';
    color = localStorage.getItem('pg-color') ?? '';
  } catch {
    /* ignore */
  }
  if (!name) {
    const animals = ['Otter', 'Falcon', 'Lynx', 'Panda', 'Heron', 'Koala', 'Marten', 'Ibex', 'Puffin', 'Gecko'];
    name = `${animals[Math.floor(Math.random() * animals.length)]} ${Math.floor(Math.random() * 90 + 10)}`;
  }
  if (!/^#[0-9a-f]{6}$/i.test(color)) color = colors[Math.floor(Math.random() * colors.length)];
  try {
    localStorage.setItem('pg-name', name);
    localStorage.setItem('pg-color', color);
  } catch {
    /* ignore */
  }
  return { name, color };
}
