// The file tree: a pure model (flat entries -> sorted nested nodes) and its
// DOM view with keyboard navigation (arrows, Enter, F2, Delete).
import type { FileEntry } from './api';
import { h } from './ui';
import { icon } from './icons';

export interface TreeNode {
  name: string;
  path: string;
  type: 'file' | 'dir';
  children: TreeNode[];
}

// Paths hidden from the tree (the runner's compile cache).
export function isHidden(path: string): boolean {
  return path === '.playground-cache' || path.startsWith('.playground-cache/');
}

// Builds the nested tree; folders first, then by name (case-insensitive).
// Missing parent folders are implied.
export function buildTree(entries: Iterable<FileEntry>): TreeNode[] {
  const root: TreeNode = { name: '', path: '', type: 'dir', children: [] };
  const dirs = new Map<string, TreeNode>([['', root]]);
  const ensureDir = (path: string): TreeNode => {
    let d = dirs.get(path);
    if (d) return d;
    const slash = path.lastIndexOf('/');
    const parent = ensureDir(slash < 0 ? '' : path.slice(0, slash));
    d = { name: path.slice(slash + 1), path, type: 'dir', children: [] };
    parent.children.push(d);
    dirs.set(path, d);
    return d;
  };
  for (const e of entries) {
    if (!e.path || isHidden(e.path)) continue;
    if (e.type === 'dir') {
      ensureDir(e.path);
      continue;
    }
    const slash = e.path.lastIndexOf('/');
    const parent = ensureDir(slash < 0 ? '' : e.path.slice(0, slash));
    parent.children.push({ name: e.path.slice(slash + 1), path: e.path, type: 'file', children: [] });
  }
  const sort = (n: TreeNode) => {
    n.children.sort((a, b) => (a.type !== b.type ? (a.type === 'dir' ? -1 : 1) : a.name.localeCompare(b.name, undefined, { sensitivity: 'base', numeric: true })));
    n.children.forEach(sort);
  };
  sort(root);
  return root.children;
}

// The file to open first in a fresh playground.
export function defaultFile(entries: Iterable<FileEntry>): string | null {
  const files = [...entries].filter((e) => e.type === 'file' && !isHidden(e.path)).map((e) => e.path);
  for (const pref of ['main.py', 'main.c', 'main.cpp', 'index.js', 'main.js', 'README.md'])
    if (files.includes(pref)) return pref;
  files.sort();
  return files.find((f) => !f.includes('/')) ?? files[0] ?? null;
}

// Validates a user-typed relative path; returns an error sentence or null.
export function checkPath(p: string): string | null {
  if (!p) return 'A name is required.';
  if (p.startsWith('/')) return 'Use a path relative to the playground (no leading “/”).';
  if (p.length > 1024) return 'The path is too long.';
  const parts = p.split('/');
  if (parts.some((s) => s === '..' || s === '.')) return '“.” and “..” are not allowed in paths.';
  if (parts.some((s) => s === '')) return 'The path has an empty part (“//” or a trailing “/”).';
  if (/[\u0000-\u001f]/.test(p)) return 'The name has control characters.';
  return null;
}

export interface TreeViewHandlers {
  onOpen(path: string): void;
  onRename(path: string): void;
  onDelete(path: string): void;
  onDownload(path: string): void;
  onSelect?(path: string, type: 'file' | 'dir'): void;
}

export class TreeView {
  readonly el: HTMLElement;
  private entries = new Map<string, FileEntry>();
  private expanded = new Set<string>();
  private active = '';
  private focused = '';
  readOnly = false;

  constructor(private readonly handlers: TreeViewHandlers) {
    this.el = h('div', { class: 'tree', role: 'tree', 'aria-label': 'Files' });
    this.el.addEventListener('keydown', (e) => this.onKey(e));
  }

  setEntries(list: FileEntry[]): void {
    this.entries = new Map(list.map((e) => [e.path, e]));
    this.render();
  }

  apply(changes: { op: string; path: string; entry?: FileEntry }[]): void {
    for (const c of changes) {
      if (c.op === 'delete') {
        for (const k of [...this.entries.keys()]) if (k === c.path || k.startsWith(c.path + '/')) this.entries.delete(k);
      } else if (c.op === 'upsert') {
        this.entries.set(c.path, c.entry ?? { path: c.path, type: 'file' });
      }
    }
    this.render();
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  all(): FileEntry[] {
    return [...this.entries.values()];
  }

  setActive(path: string): void {
    this.active = path;
    // Reveal it.
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) this.expanded.add(parts.slice(0, i).join('/'));
    this.render();
  }

  // The folder new files go to: the focused folder, or the active file's.
  targetDir(): string {
    const f = this.entries.get(this.focused);
    if (f?.type === 'dir') return f.path;
    const p = this.focused || this.active;
    return p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
  }

  private render(): void {
    const hadFocus = this.el.contains(document.activeElement);
    const nodes = buildTree(this.entries.values());
    if (!nodes.length) {
      this.el.replaceChildren(h('div', { class: 'tree-empty' }, 'No files yet. Create one with + above, or drop files here.'));
      return;
    }
    this.el.replaceChildren(this.list(nodes, 0));
    if (!this.focused || !this.rowFor(this.focused)) this.focused = this.active || nodes[0].path;
    const row = this.rowFor(this.focused);
    if (row) {
      row.tabIndex = 0;
      if (hadFocus) row.focus();
    }
  }

  private list(nodes: TreeNode[], depth: number): HTMLElement {
    return h('ul', { role: depth ? 'group' : 'presentation' }, ...nodes.map((n) => this.item(n, depth)));
  }

  private item(n: TreeNode, depth: number): HTMLElement {
    const open = this.expanded.has(n.path);
    const isDir = n.type === 'dir';
    const btn = (ico: string, title: string, f: () => void) =>
      h('button', { type: 'button', title, 'aria-label': `${title} ${n.name}`, tabindex: '-1', onclick: (e: Event) => { e.stopPropagation(); f(); } }, icon(ico));
    const actions = h('span', { class: 'row-actions' },
      !isDir ? btn('download', 'Download', () => this.handlers.onDownload(n.path)) : null,
      !this.readOnly ? btn('pencil', 'Rename', () => this.handlers.onRename(n.path)) : null,
      !this.readOnly ? btn('trash', 'Delete', () => this.handlers.onDelete(n.path)) : null,
    );
    const row = h('div', {
      class: `tree-row${n.path === this.active ? ' active' : ''}`,
      role: 'treeitem',
      tabindex: '-1',
      'data-path': n.path,
      'aria-selected': String(n.path === this.active),
      'aria-expanded': isDir ? String(open) : null,
      'aria-level': String(depth + 1),
      style: `padding-left:${8 + depth * 14}px`,
      title: n.path,
    },
      h('span', { class: `ico${isDir ? ' dir' : ''}`, 'aria-hidden': 'true' }, icon(isDir ? (open ? 'folderOpen' : 'folder') : 'file')),
      h('span', { class: 'label' }, n.name),
      actions,
    );
    row.addEventListener('click', () => this.activate(n));
    row.addEventListener('focus', () => (this.focused = n.path));
    const li = h('li', { role: 'none' }, row);
    if (isDir && open) li.append(n.children.length ? this.list(n.children, depth + 1) : h('div', { class: 'tree-empty', style: `padding-left:${30 + depth * 14}px` }, 'empty'));
    return li;
  }

  private activate(n: { path: string; type: string }): void {
    this.focused = n.path;
    if (n.type === 'dir') {
      if (this.expanded.has(n.path)) this.expanded.delete(n.path);
      else this.expanded.add(n.path);
      this.handlers.onSelect?.(n.path, 'dir');
      this.render();
      this.rowFor(n.path)?.focus();
    } else {
      this.handlers.onOpen(n.path);
    }
  }

  private rowFor(path: string): HTMLElement | null {
    return this.el.querySelector(`[data-path="${CSS.escape(path)}"]`);
  }

  private onKey(e: KeyboardEvent): void {
    const rows = [...this.el.querySelectorAll<HTMLElement>('.tree-row')];
    const i = rows.findIndex((r) => r === document.activeElement);
    if (i < 0) return;
    const path = rows[i].dataset.path!;
    const entry = this.entries.get(path);
    const isDir = entry?.type === 'dir' || (!entry && rows[i].hasAttribute('aria-expanded'));
    const move = (j: number) => {
      if (j < 0 || j >= rows.length) return;
      rows[i].tabIndex = -1;
      rows[j].tabIndex = 0;
      rows[j].focus();
    };
    switch (e.key) {
      case 'ArrowDown': move(i + 1); break;
      case 'ArrowUp': move(i - 1); break;
      case 'Home': move(0); break;
      case 'End': move(rows.length - 1); break;
      case 'ArrowRight':
        if (isDir && !this.expanded.has(path)) this.activate({ path, type: 'dir' });
        else move(i + 1);
        break;
      case 'ArrowLeft':
        if (isDir && this.expanded.has(path)) this.activate({ path, type: 'dir' });
        else if (path.includes('/')) this.rowFor(path.slice(0, path.lastIndexOf('/')))?.focus();
        break;
      case 'Enter':
      case ' ':
        this.activate({ path, type: isDir ? 'dir' : 'file' });
        break;
      case 'F2':
        if (!this.readOnly) this.handlers.onRename(path);
        break;
      case 'Delete':
        if (!this.readOnly) this.handlers.onDelete(path);
        break;
      default:
        return;
    }
    e.preventDefault();
  }
}

