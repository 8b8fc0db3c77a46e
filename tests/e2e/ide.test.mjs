// End-to-end tests of the web IDE: a real hub ($PG_BINARY serve) with its
// real workspace and runner servers, driven through Debian's Chromium with
// playwright-core. Screenshots go to <repo>/test-output/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

const repo = process.env.PG_SOURCE_DIR ?? path.resolve(import.meta.dirname, '../..');
const binary = process.env.PG_BINARY;
const webDist = path.join(repo, 'web', 'dist');
const outDir = path.join(repo, 'test-output');
fs.mkdirSync(outDir, { recursive: true });

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

// ---- the hub ---------------------------------------------------------------

class Hub {
  constructor(dataDir) {
    this.dataDir = dataDir;
    this.proc = null;
    this.url = '';
    this.log = '';
  }

  // Starts `playground serve`; resolves with its URL once it prints it.
  start(listen = '127.0.0.1:0') {
    return new Promise((resolve, reject) => {
      const p = spawn(binary, ['serve', '--listen', listen, '--data-dir', this.dataDir, '--web-dir', webDist], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.proc = p;
      let out = '';
      let started = false;
      const timer = setTimeout(() => reject(new Error(`hub did not print its URL within 20 s:\n${this.log}`)), 20000);
      const onData = (d) => {
        this.log += d;
        out += d;
        const m = /listening on (http:\/\/[^\s]+)/.exec(out);
        if (m && !started) {
          started = true;
          clearTimeout(timer);
          this.url = m[1].replace(/\/$/, '');
          resolve(this.url);
        }
      };
      p.stdout.on('data', onData);
      p.stderr.on('data', (d) => (this.log += d));
      p.on('exit', (code, sig) => {
        clearTimeout(timer);
        this.log += `\n[hub exited: ${code ?? sig}]\n`;
        reject(new Error(`hub exited (${code ?? sig}):\n${this.log}`));
      });
    });
  }

  get adminToken() {
    return fs.readFileSync(path.join(this.dataDir, 'admin-token'), 'utf8').trim();
  }

  // Sends `signal`; a hub still running 10 s later gets SIGKILL.
  kill(signal = 'SIGKILL') {
    return new Promise((resolve) => {
      const p = this.proc;
      if (!p || p.exitCode !== null || p.signalCode) return resolve();
      const t = setTimeout(() => p.kill('SIGKILL'), 10000);
      p.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      p.kill(signal);
    });
  }

  async api(method, p, body) {
    const res = await fetch(this.url + p, {
      method,
      headers: { Authorization: `Bearer ${this.adminToken}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p} -> ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
}

// ---- helpers ---------------------------------------------------------------

async function waitFor(cond, what, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const terminalText = (page) => page.evaluate(() => document.querySelector('#terminal .xterm-rows')?.textContent ?? '');
const editorText = (page) => page.evaluate(() => window.__pg?.text?.() ?? null);

async function login(context, hub) {
  const page = await context.newPage();
  await page.goto(`${hub.url}/login?token=${encodeURIComponent(hub.adminToken)}`);
  await page.waitForURL(`${hub.url}/`);
  return page;
}

async function openIde(page, url) {
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  await waitFor(() => page.evaluate(() => document.querySelector('#conn-status')?.textContent === 'Connected'), 'connected');
}

// Replaces the whole editor content by typing (as a user would).
async function typeProgram(page, text) {
  await page.click('#editor .cm-content');
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Delete');
  // insertText avoids auto-indent/auto-close changing what we "type".
  await page.keyboard.insertText(text);
}

// ---- the tests -------------------------------------------------------------

describe('web IDE end to end', { skip: !binary && 'PG_BINARY is not set' }, () => {
  let hub;
  let browser;
  let tmp;
  let pgId = '';
  let ideUrl = '';

  before(async () => {
    assert.ok(fs.existsSync(path.join(webDist, 'index.html')), `web/dist is not built (run scripts/build-web.sh)`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-e2e-'));
    hub = new Hub(path.join(tmp, 'data'));
    await hub.start();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
  });

  after(async () => {
    const step = (what) => process.env.PG_E2E_DEBUG && console.log(`# after: ${what}`);
    step('closing the browser');
    await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 10000))]);
    step('deleting playgrounds');
    if (hub) {
      // Delete the playgrounds (their containers outlive the hub otherwise).
      try {
        const { items } = await hub.api('GET', '/api/v1/playgrounds?limit=500');
        for (const p of items) await hub.api('DELETE', `/api/v1/playgrounds/${p.id}`).catch(() => {});
      } catch (e) {
        console.log(`# cleanup: ${e.message}`);
      }
      step('stopping the hub');
      await hub.kill('SIGTERM');
      step('done');
      fs.writeFileSync(path.join(outDir, 'e2e-hub.log'), hub.log);
    }
    if (process.env.PG_E2E_KEEP) console.log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the built JavaScript is at most 1 MiB gzipped', () => {
    const dir = path.join(webDist, 'assets');
    let total = 0;
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.js')) total += zlib.gzipSync(fs.readFileSync(path.join(dir, f)), { level: 9 }).length;
    console.log(`# web: JS gzipped total ${(total / 1024).toFixed(1)} KiB`);
    assert.ok(total > 10 * 1024, 'suspiciously small bundle');
    assert.ok(total <= 1024 * 1024, `JS is ${total} bytes gzipped`);
  });

  it('creates a playground from the home page, runs a program and answers its input()', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await login(context, hub);
    await page.waitForSelector('#create-btn');
    await page.click('[data-template="python"]');
    await page.fill('#pg-name', 'E2E Python');
    await page.screenshot({ path: path.join(outDir, 'home.png') });
    await page.click('#create-btn');
    await page.waitForURL(/\/p\/[^/]+\/$/, { timeout: 60000 });
    pgId = /\/p\/([^/]+)\//.exec(page.url())[1];
    ideUrl = `${hub.url}/p/${pgId}/`;
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
    await waitFor(() => page.evaluate(() => window.__pg?.activePath?.()), 'a file open');
    const active = await page.evaluate(() => window.__pg.activePath());
    assert.match(active, /\.py$/);

    await typeProgram(page, 'name = input("Name? ")\nprint(f"Hello, {name}!")\n');
    await waitFor(async () => (await page.evaluate(() => window.__pg.unsent())) === 0, 'edits sent');
    await page.keyboard.press('Control+Enter');
    await waitFor(async () => (await terminalText(page)).includes('Name?'), 'the input() prompt');
    await page.click('#terminal');
    await page.keyboard.type('Ada');
    await page.keyboard.press('Enter');
    await waitFor(async () => (await terminalText(page)).includes('Hello, Ada!'), 'the greeting');
    await waitFor(() => page.evaluate(() => document.querySelector('#run-status')?.dataset.status === 'ok'), 'the run result in the status bar');
    const status = await page.textContent('#run-status');
    assert.match(status, /exit 0/);
    assert.match(status, /ms|s/);
    await page.screenshot({ path: path.join(outDir, 'ide.png') });

    // Time to interactive of fresh navigations to the IDE (median of 3; the
    // editor shows the file and takes input).
    const times = [];
    for (let i = 0; i < 3; i++) {
      const p2 = await context.newPage();
      await openIde(p2, ideUrl);
      times.push(await p2.evaluate(() => window.__pg.navMs));
      await p2.close();
    }
    times.sort((x, y) => x - y);
    console.log(`# web: IDE interactive after navigation: median ${Math.round(times[1])} ms (runs: ${times.map(Math.round).join(', ')} ms)`);
    assert.ok(times[1] < 1000, `IDE took ${times[1]} ms (median) to become interactive`);
    await context.close();
  });

  it('shows a compile error clearly', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await login(context, hub);
    const pg = await hub.api('POST', '/api/v1/playgrounds', { name: 'E2E C', template: 'c' });
    await openIde(page, `${hub.url}/p/${pg.id}/`);
    const active = await page.evaluate(() => window.__pg.activePath());
    assert.match(active, /\.c$/);
    await typeProgram(page, 'int main(void) { return missing; }\n');
    await waitFor(async () => (await page.evaluate(() => window.__pg.unsent())) === 0, 'edits sent');
    await page.click('#run-btn');
    await waitFor(() => page.evaluate(() => document.querySelector('#run-status')?.dataset.status === 'compile_error'), 'compile error status');
    // xterm renders asynchronously: wait for the text.
    await waitFor(async () => /missing/.test(await terminalText(page)) && /Compile error/.test(await terminalText(page)), 'the compiler message in the terminal');
    assert.match(await page.textContent('#run-result'), /compile error/);
    await context.close();
  });

  it('two users edit the same file at once, converge, and see each other', async () => {
    assert.ok(pgId, 'needs the playground of the first test');
    const ctxA = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const ctxB = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    for (const [ctx, name] of [[ctxA, 'Alice'], [ctxB, 'Bob']]) {
      await ctx.addInitScript((n) => {
        localStorage.setItem('pg-name', n);
      }, name);
    }
    const a = await login(ctxA, hub);
    const b = await login(ctxB, hub);
    await openIde(a, ideUrl);
    await openIde(b, ideUrl);
    await a.click('#editor .cm-content');
    await b.click('#editor .cm-content');
    await a.keyboard.press('Control+Home');
    await b.keyboard.press('Control+End');
    // Type at the same time.
    await Promise.all([
      (async () => {
        for (const ch of '# from alice\n') await a.keyboard.type(ch, { delay: 5 });
      })(),
      (async () => {
        for (const ch of 'print("from bob")\n') await b.keyboard.type(ch, { delay: 5 });
      })(),
    ]);
    await waitFor(async () => {
      const [ta, tb] = [await editorText(a), await editorText(b)];
      return ta === tb && ta.includes('# from alice') && ta.includes('print("from bob")');
    }, 'both editors to converge');
    await a.keyboard.press('Control+End');
    await b.keyboard.press('Control+Home');
    await waitFor(() => a.evaluate(() => [...document.querySelectorAll('.cm-peer-name')].some((e) => e.textContent === 'Bob')), "Bob's cursor at Alice");
    await waitFor(() => b.evaluate(() => [...document.querySelectorAll('.cm-peer-name')].some((e) => e.textContent === 'Alice')), "Alice's cursor at Bob");
    await a.screenshot({ path: path.join(outDir, 'ide-collab.png') });
    await ctxA.close();
    await ctxB.close();
  });

  it('reconnects after the hub is killed and restarted, losing nothing', async () => {
    assert.ok(pgId, 'needs the playground of the first test');
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await login(ctx, hub);
    await openIde(page, ideUrl);
    await page.click('#editor .cm-content');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('# before the crash\n');
    await waitFor(async () => (await page.evaluate(() => window.__pg.unsent())) === 0, 'edits sent');
    const port = new URL(hub.url).port;
    await hub.kill('SIGKILL');
    await waitFor(() => page.evaluate(() => document.querySelector('#conn-status')?.textContent !== 'Connected'), 'the page to notice');
    assert.match(await page.textContent('.conn-banner'), /Connection lost/);
    await page.keyboard.type('# typed while offline\n');
    await page.screenshot({ path: path.join(outDir, 'ide-offline.png') });
    await hub.start(`127.0.0.1:${port}`);
    await waitFor(() => page.evaluate(() => document.querySelector('#conn-status')?.textContent === 'Connected'), 'reconnected', 40000);
    await waitFor(async () => (await page.evaluate(() => window.__pg.unsent())) === 0, 'offline edits sent', 20000);
    const text = await editorText(page);
    assert.ok(text.includes('# before the crash\n# typed while offline\n'), text);
    // The server has it too: a fresh page loads the same text.
    const fresh = await ctx.newPage();
    await openIde(fresh, ideUrl);
    await waitFor(async () => (await editorText(fresh)) === text, 'a fresh page to see the same text');
    await ctx.close();
  });

  it('a viewer link opens a read-only editor without Run', async () => {
    assert.ok(pgId, 'needs the playground of the first test');
    const link = await hub.api('POST', `/api/v1/playgrounds/${pgId}/tokens`, { role: 'viewer' });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    const url = new URL(link.url, hub.url);
    await page.goto(`${hub.url}${url.pathname}${url.search}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
    assert.equal(new URL(page.url()).search, '', 'the token is dropped from the URL');
    assert.equal(await page.textContent('#role-badge'), 'read-only');
    assert.equal(await page.$('#run-btn'), null);
    assert.equal(await page.getAttribute('#editor .cm-content', 'contenteditable'), 'false');
    const before = await editorText(page);
    await page.click('#editor .cm-content');
    await page.keyboard.type('should not appear');
    await page.keyboard.press('Control+Enter');
    assert.equal(await editorText(page), before);
    await page.screenshot({ path: path.join(outDir, 'ide-viewer.png') });
    await ctx.close();
  });

  it('manages files from the tree: create, rename, upload, download, delete', async () => {
    assert.ok(pgId, 'needs the playground of the first test');
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const page = await login(ctx, hub);
    await openIde(page, ideUrl);
    const row = (p) => page.locator(`.tree-row[data-path="${p}"]`);
    // Create (in a new folder) and open.
    await page.click('button[aria-label="New file"]');
    await page.fill('dialog input', 'lib/util.py');
    await page.keyboard.press('Enter');
    await row('lib/util.py').waitFor();
    await waitFor(async () => (await page.evaluate(() => window.__pg.activePath())) === 'lib/util.py', 'the new file to open');
    await page.keyboard.insertText('X = 1\n');
    await waitFor(async () => (await page.evaluate(() => window.__pg.unsent())) === 0, 'edits sent');
    // Rename.
    await row('lib/util.py').hover();
    await page.click('button[aria-label="Rename util.py"]');
    await page.fill('dialog input', 'lib/helpers.py');
    await page.keyboard.press('Enter');
    await row('lib/helpers.py').waitFor();
    await waitFor(async () => (await row('lib/util.py').count()) === 0, 'the old name to go');
    await waitFor(async () => (await page.evaluate(() => window.__pg.activePath())) === 'lib/helpers.py', 'the tab to follow the rename');
    assert.equal(await editorText(page), 'X = 1\n');
    // Upload (binary) and download it back.
    await page.setInputFiles('.sidebar input[type=file]', { name: 'data.bin', mimeType: 'application/octet-stream', buffer: Buffer.from([0, 1, 2, 255, 254]) });
    await row('lib/data.bin').or(row('data.bin')).first().waitFor();
    const uploaded = (await row('lib/data.bin').count()) ? 'lib/data.bin' : 'data.bin';
    await row(uploaded).hover();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[aria-label="Download data.bin"]')]);
    const bytes = fs.readFileSync(await download.path());
    assert.deepEqual([...bytes], [0, 1, 2, 255, 254]);
    // Delete (with confirmation).
    await row('lib/helpers.py').hover();
    await page.click('button[aria-label="Delete helpers.py"]');
    await page.click('dialog button[value="ok"]');
    await waitFor(async () => (await row('lib/helpers.py').count()) === 0, 'the file to be deleted');
    await waitFor(async () => (await page.locator('.tab[data-path="lib/helpers.py"]').count()) === 0, 'its tab to close');
    await ctx.close();
  });

  it('is usable on a narrow window and in the dark theme', async () => {
    assert.ok(pgId, 'needs the playground of the first test');
    const ctx = await browser.newContext({ viewport: { width: 420, height: 800 }, colorScheme: 'dark' });
    const page = await login(ctx, hub);
    await page.waitForSelector('.pg-table');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `home page scrolls sideways by ${overflow}px`);
    await page.screenshot({ path: path.join(outDir, 'home-narrow-dark.png') });
    await openIde(page, ideUrl);
    assert.ok(await page.isVisible('#run-btn'));
    assert.ok(await page.isVisible('#editor .cm-content'));
    // The theme toggle switches to light and back.
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const dark = await bg();
    await page.click('.topbar button[aria-label="Toggle light/dark theme"]');
    assert.notEqual(await bg(), dark);
    await page.click('.topbar button[aria-label="Toggle light/dark theme"]');
    assert.equal(await bg(), dark);
    await page.screenshot({ path: path.join(outDir, 'ide-narrow-dark.png') });
    // The file tree opens from the menu button.
    await page.click('.menu-btn');
    assert.ok(await page.isVisible('.tree'));
    await ctx.close();
  });

  it('explains a missing playground and a missing login', async () => {
    const ctx = await browser.newContext();
    const page = await login(ctx, hub);
    await page.goto(`${hub.url}/p/doesnotexist/`);
    await page.waitForSelector('.message-page h1');
    assert.equal(await page.textContent('.message-page h1'), 'Playground not found');
    const anon = await browser.newContext();
    const p2 = await anon.newPage();
    await p2.goto(`${hub.url}/p/${pgId || 'x'}/`);
    await p2.waitForSelector('.message-page h1');
    assert.match(await p2.textContent('.message-page h1'), /No access|not found/);
    await p2.goto(`${hub.url}/`);
    await p2.waitForSelector('.message-page h1');
    assert.equal(await p2.textContent('.message-page h1'), 'Sign in');
    await ctx.close();
    await anon.close();
  });
});
