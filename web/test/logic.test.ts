// Pure client logic: file tree model, routes, languages, run summaries,
// the rebase diff.
import { describe, expect, it } from 'vitest';
import { ChangeSet, Text } from '@codemirror/state';
import { buildTree, checkPath, defaultFile, isHidden } from '../src/filetree';
import { parseRoute } from '../src/router';
import { isRunnable, languageFor } from '../src/editor';
import { describeExit, describeRunError, formatKb, formatMs } from '../src/runner';
import { diffText } from '../src/collab';

describe('file tree', () => {
  it('nests, implies parents, sorts folders first, hides the compile cache', () => {
    const t = buildTree([
      { path: 'z.py', type: 'file' },
      { path: 'src/b.py', type: 'file' },
      { path: 'src/a.py', type: 'file' },
      { path: 'deep/x/y.txt', type: 'file' },
      { path: 'A.md', type: 'file' },
      { path: 'file10.txt', type: 'file' },
      { path: 'file9.txt', type: 'file' },
      { path: '.playground-cache/abc/bin', type: 'file' },
      { path: '.playground-cache', type: 'dir' },
      { path: 'empty', type: 'dir' },
    ]);
    expect(t.map((n) => n.name)).toEqual(['deep', 'empty', 'src', 'A.md', 'file9.txt', 'file10.txt', 'z.py']);
    expect(t[0].children[0].path).toBe('deep/x');
    expect(t[0].children[0].children[0].path).toBe('deep/x/y.txt');
    expect(t[2].children.map((n) => n.name)).toEqual(['a.py', 'b.py']);
    expect(isHidden('.playground-cache/x')).toBe(true);
    expect(isHidden('.playground-cachex')).toBe(false);
  });
  it('picks a sensible first file', () => {
    expect(defaultFile([{ path: 'README.md', type: 'file' }, { path: 'main.py', type: 'file' }])).toBe('main.py');
    expect(defaultFile([{ path: 'lib/x.c', type: 'file' }, { path: 'b.txt', type: 'file' }])).toBe('b.txt');
    expect(defaultFile([{ path: 'lib/x.c', type: 'file' }])).toBe('lib/x.c');
    expect(defaultFile([])).toBeNull();
  });
  it('rejects bad user paths with a sentence', () => {
    expect(checkPath('src/a.py')).toBeNull();
    for (const bad of ['', '/etc/passwd', '../x', 'a/../b', 'a//b', 'a/', './a', 'a\u0001b', 'x'.repeat(2000)]) expect(checkPath(bad)).toMatch(/./);
  });
});

describe('routes', () => {
  it('parses home, IDE and unknown paths', () => {
    expect(parseRoute('/')).toEqual({ page: 'home' });
    expect(parseRoute('/p/abc-123_X/')).toEqual({ page: 'ide', id: 'abc-123_X' });
    expect(parseRoute('/p/abc')).toEqual({ page: 'ide', id: 'abc' });
    expect(parseRoute('/p/a/b')).toEqual({ page: 'unknown' });
    expect(parseRoute('/p/../x/')).toEqual({ page: 'unknown' });
    expect(parseRoute('/api/v1')).toEqual({ page: 'unknown' });
  });
});

describe('languages', () => {
  it('maps extensions to modes', () => {
    expect(languageFor('main.py')?.id).toBe('python');
    expect(languageFor('src/x.CPP')?.id).toBe('cpp');
    expect(languageFor('a.h')?.id).toBe('c');
    expect(languageFor('index.mjs')?.id).toBe('javascript');
    expect(languageFor('Makefile')).toBeNull();
    expect(languageFor('notes')).toBeNull();
    expect(isRunnable('main.c')).toBe(true);
    expect(isRunnable('README.md')).toBe(false);
  });
  it('loads every language mode', async () => {
    const { loadLanguage } = await import('../src/editor');
    for (const f of ['a.py', 'a.c', 'a.cpp', 'a.js', 'a.ts', 'a.java', 'a.rs', 'a.go', 'a.md', 'a.json', 'a.html', 'a.css', 'a.sh', 'a.toml', 'a.yaml', 'a.rb'])
      expect(await loadLanguage(f), f).toBeTruthy();
    expect(await loadLanguage('x.unknown')).toBeNull();
  });
});

describe('run summaries', () => {
  it('describes exits', () => {
    expect(describeExit({ run: 'r', status: 'ok', exit_code: 0, wall_ms: 31, peak_memory_kb: 8200 })).toEqual({ ok: true, text: 'exit 0 · 31 ms · 8.0 MB' });
    expect(describeExit({ run: 'r', status: 'runtime_error', exit_code: null, signal: 'SIGSEGV', wall_ms: 1500 }).text).toBe('killed by SIGSEGV · 1.50 s');
    expect(describeExit({ run: 'r', status: 'timed_out', wall_ms: 10000 }).text).toBe('time limit exceeded · 10.0 s');
    expect(describeExit({ run: 'r', status: 'compile_error' }).ok).toBe(false);
    expect(formatMs(999)).toBe('999 ms');
    expect(formatKb(512)).toBe('512 KB');
    expect(describeRunError('run_limit', 'x')).toMatch(/Run limit reached/);
    expect(describeRunError('entry_not_found', 'x')).toMatch(/not found/);
  });
});

describe('diffText', () => {
  const check = (a: string, b: string) => {
    const cs = diffText(a, b);
    expect(cs.apply(Text.of(a.split('\n'))).toString()).toBe(b);
    // Never cuts a surrogate pair in `a`.
    cs.iterChangedRanges((fromA, toA) => {
      for (const p of [fromA, toA]) {
        const c = a.charCodeAt(p);
        expect(p > 0 && p < a.length && c >= 0xdc00 && c < 0xe000).toBe(false);
      }
    });
    return cs;
  };
  it('is the minimal single replacement and surrogate-safe', () => {
    expect(check('hello world', 'hello brave world').toJSON()).toEqual([6, [0, 'brave '], 5]);
    expect(check('same', 'same').empty).toBe(true);
    check('a😀b', 'a😃b');
    check('😀😀', '😀');
    check('x😀', 'x😀😀');
    check('', 'new\ntext');
    check('old\ntext', '');
    const unsent = ChangeSet.of([{ from: 0, insert: 'A' }], 5);
    expect(unsent.map(diffText('hello', 'jello!')).apply(Text.of(['jello!'])).toString()).toBe('Ajello!');
  });
});
