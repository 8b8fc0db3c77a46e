// Editor configuration: base extensions, theme (follows the page's CSS
// variables, so light/dark switch without a reconfigure) and language modes
// loaded on demand (code-split) by file extension.

import { Compartment, EditorState, type Extension } from '@codemirror/state';
import {
  EditorView,
  keymap,
  lineNumbers,
  highlightActiveLine,
  highlightActiveLineGutter,
  drawSelection,
  dropCursor,
  rectangularSelection,
  crosshairCursor,
  highlightSpecialChars,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import {
  bracketMatching,
  foldGutter,
  foldKeymap,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
  HighlightStyle,
  StreamLanguage,
  type LanguageSupport,
} from '@codemirror/language';
import { closeBrackets, closeBracketsKeymap, autocompletion, completionKeymap } from '@codemirror/autocomplete';
import { searchKeymap, highlightSelectionMatches } from '@codemirror/search';
import { tags as t } from '@lezer/highlight';
import { presenceExtension } from './presence';

export interface LanguageInfo {
  id: string;
  name: string;
  load: () => Promise<Extension>;
}

const legacy = (f: () => Promise<any>) => async () => StreamLanguage.define(await f());

const LANGS: Record<string, LanguageInfo> = {
  python: { id: 'python', name: 'Python', load: async () => (await import('@codemirror/lang-python')).python() },
  c: { id: 'c', name: 'C', load: async () => (await import('@codemirror/lang-cpp')).cpp() },
  cpp: { id: 'cpp', name: 'C++', load: async () => (await import('@codemirror/lang-cpp')).cpp() },
  javascript: {
    id: 'javascript',
    name: 'JavaScript',
    load: async () => (await import('@codemirror/lang-javascript')).javascript(),
  },
  typescript: {
    id: 'typescript',
    name: 'TypeScript',
    load: async () => (await import('@codemirror/lang-javascript')).javascript({ typescript: true }),
  },
  java: { id: 'java', name: 'Java', load: async () => (await import('@codemirror/lang-java')).java() },
  rust: { id: 'rust', name: 'Rust', load: async () => (await import('@codemirror/lang-rust')).rust() },
  go: { id: 'go', name: 'Go', load: async () => (await import('@codemirror/lang-go')).go() },
  markdown: { id: 'markdown', name: 'Markdown', load: async () => (await import('@codemirror/lang-markdown')).markdown() },
  json: { id: 'json', name: 'JSON', load: async () => (await import('@codemirror/lang-json')).json() },
  html: { id: 'html', name: 'HTML', load: async () => (await import('@codemirror/lang-html')).html() },
  css: { id: 'css', name: 'CSS', load: async () => (await import('@codemirror/lang-css')).css() },
  shell: {
    id: 'shell',
    name: 'Shell',
    load: legacy(async () => (await import('@codemirror/legacy-modes/mode/shell')).shell),
  },
  toml: { id: 'toml', name: 'TOML', load: legacy(async () => (await import('@codemirror/legacy-modes/mode/toml')).toml) },
  yaml: { id: 'yaml', name: 'YAML', load: legacy(async () => (await import('@codemirror/legacy-modes/mode/yaml')).yaml) },
  ruby: { id: 'ruby', name: 'Ruby', load: legacy(async () => (await import('@codemirror/legacy-modes/mode/ruby')).ruby) },
};

const EXT: Record<string, string> = {
  py: 'python', pyw: 'python',
  c: 'c', h: 'c',
  cc: 'cpp', cpp: 'cpp', cxx: 'cpp', hpp: 'cpp', hh: 'cpp', hxx: 'cpp',
  js: 'javascript', mjs: 'javascript', cjs: 'javascript', jsx: 'javascript',
  ts: 'typescript', tsx: 'typescript', mts: 'typescript',
  java: 'java', rs: 'rust', go: 'go',
  md: 'markdown', markdown: 'markdown',
  json: 'json', html: 'html', htm: 'html', css: 'css',
  sh: 'shell', bash: 'shell', zsh: 'shell',
  toml: 'toml', yaml: 'yaml', yml: 'yaml', rb: 'ruby',
};

// The language of a file name, or null for plain text.
export function languageFor(path: string): LanguageInfo | null {
  const base = path.split('/').pop() ?? '';
  if (base === 'Makefile' || base === 'Dockerfile') return null;
  const dot = base.lastIndexOf('.');
  if (dot < 0) return null;
  const id = EXT[base.slice(dot + 1).toLowerCase()];
  return id ? LANGS[id] : null;
}

// Whether the Run button applies to this file (the runner decides for sure).
export function isRunnable(path: string): boolean {
  const id = languageFor(path)?.id;
  return !!id && ['python', 'c', 'cpp', 'javascript', 'typescript', 'java', 'rust', 'go', 'shell', 'ruby'].includes(id);
}

const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.moduleKeyword, t.operatorKeyword], color: 'var(--tok-keyword)' },
  { tag: [t.string, t.special(t.string), t.regexp, t.character], color: 'var(--tok-string)' },
  { tag: [t.number, t.bool, t.null, t.atom], color: 'var(--tok-number)' },
  { tag: [t.comment, t.lineComment, t.blockComment, t.docComment], color: 'var(--tok-comment)', fontStyle: 'italic' },
  { tag: [t.function(t.variableName), t.function(t.propertyName), t.macroName], color: 'var(--tok-function)' },
  { tag: [t.definition(t.variableName), t.definition(t.function(t.variableName))], color: 'var(--tok-def)' },
  { tag: [t.typeName, t.className, t.namespace, t.standard(t.typeName)], color: 'var(--tok-type)' },
  { tag: [t.propertyName, t.attributeName], color: 'var(--tok-property)' },
  { tag: [t.processingInstruction, t.meta, t.annotation], color: 'var(--tok-meta)' },
  { tag: [t.operator, t.punctuation, t.bracket], color: 'var(--tok-punct)' },
  { tag: t.heading, fontWeight: 'bold', color: 'var(--tok-keyword)' },
  { tag: t.emphasis, fontStyle: 'italic' },
  { tag: t.strong, fontWeight: 'bold' },
  { tag: t.link, textDecoration: 'underline' },
  { tag: t.invalid, color: 'var(--danger)' },
]);

const theme = EditorView.theme({
  '&': { height: '100%', color: 'var(--fg)', backgroundColor: 'var(--editor-bg)', fontSize: '14px' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.55' },
  '.cm-content': { caretColor: 'var(--accent)', padding: '8px 0' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--accent)', borderLeftWidth: '2px' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': {
    backgroundColor: 'var(--selection) !important',
  },
  '.cm-gutters': { backgroundColor: 'var(--editor-bg)', color: 'var(--muted)', border: 'none' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--active-line)', color: 'var(--fg)' },
  '.cm-matchingBracket': { backgroundColor: 'var(--selection)', outline: '1px solid var(--border)' },
  '.cm-tooltip': { backgroundColor: 'var(--panel)', color: 'var(--fg)', border: '1px solid var(--border)' },
  '.cm-panels': { backgroundColor: 'var(--panel)', color: 'var(--fg)' },
});

export interface EditorConfig {
  readOnly: boolean;
  onRun?: () => boolean;
  onSave?: () => boolean;
}

export const languageCompartment = new Compartment();

// The extensions of a document's state. Language support is filled in later
// through languageCompartment (loadLanguage).
export function editorExtensions(cfg: EditorConfig, language?: Extension): Extension {
  const runKeys = [
    { key: 'Mod-Enter', run: () => cfg.onRun?.() ?? false, preventDefault: true },
    { key: 'Mod-s', run: () => cfg.onSave?.() ?? true, preventDefault: true },
  ];
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    foldGutter(),
    drawSelection(),
    dropCursor(),
    EditorState.allowMultipleSelections.of(true),
    indentOnInput(),
    indentUnit.of('    '),
    syntaxHighlighting(highlight),
    bracketMatching(),
    closeBrackets(),
    autocompletion({ activateOnTyping: false }),
    rectangularSelection(),
    crosshairCursor(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    keymap.of([
      ...runKeys,
      ...closeBracketsKeymap,
      ...defaultKeymap,
      ...searchKeymap,
      ...historyKeymap,
      ...foldKeymap,
      ...completionKeymap,
      indentWithTab,
    ]),
    theme,
    presenceExtension(),
    languageCompartment.of(language ?? []),
    EditorState.readOnly.of(cfg.readOnly),
    EditorView.editable.of(!cfg.readOnly),
    EditorView.contentAttributes.of({ 'aria-label': cfg.readOnly ? 'Code (read-only)' : 'Code editor' }),
  ];
}

const loaded = new Map<string, Promise<Extension>>();

export function loadLanguage(path: string): Promise<Extension | null> {
  const info = languageFor(path);
  if (!info) return Promise.resolve(null);
  let p = loaded.get(info.id);
  if (!p) {
    p = info.load();
    loaded.set(info.id, p);
    p.catch(() => loaded.delete(info.id));
  }
  return p;
}

export type { LanguageSupport };
