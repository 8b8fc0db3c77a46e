// The workspace server with real @codemirror/collab clients (node --test):
// concurrent edits converge, refused pushes are rebased, a reconnecting
// client resumes from its version, a disk change arrives as a server update.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import WebSocket from 'ws'
import { EditorState, ChangeSet } from '@codemirror/state'
import { collab, receiveUpdates, sendableUpdates, getSyncedVersion } from '@codemirror/collab'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))
async function waitFor (pred, ms = 5000) {
  for (let t = 0; t < ms && !pred(); t += 10) await sleep(10)
}

async function startServer (root) {
  const sock = path.join(root, '..', 'ws.sock')
  const proc = spawn(process.env.PG_BINARY, ['workspace-server', '--root', root, '--listen', 'unix:' + sock,
    '--log-level', 'warn', '--save-delay-ms', '20'], { stdio: ['ignore', 'inherit', 'inherit'] })
  for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await sleep(25)
  await sleep(50)
  return { proc, url: `ws+unix://${sock}:/ws` }
}

// A minimal editor: an EditorState with collab, fed by the server.
class Peer {
  constructor (url, file) { this.url = url; this.file = file; this.pushing = false; this.waiters = [] }
  async connect (resume) {
    this.ws = new WebSocket(this.url)
    this.ws.on('message', (d) => this.onMessage(JSON.parse(d.toString())))
    await new Promise((resolve, reject) => { this.ws.on('open', resolve); this.ws.on('error', reject) })
    const opened = this.next('doc')
    this.ws.send(JSON.stringify({ type: 'open', id: 1, path: this.file, ...(resume ? { version: getSyncedVersion(this.state) } : {}) }))
    const d = await opened
    if (d.text !== null) this.state = EditorState.create({ doc: d.text, extensions: [collab({ startVersion: d.version })] })
    return d
  }
  next (type) { return new Promise(resolve => this.waiters.push({ type, resolve })) }
  onMessage (m) {
    if (m.type === 'updates') {
      const fresh = m.updates.slice(getSyncedVersion(this.state) - m.version)
      this.state = receiveUpdates(this.state, fresh.map(u => ({ clientID: u.clientID, changes: ChangeSet.fromJSON(u.changes) }))).state
    }
    if (m.type === 'pushed') { this.pushing = false; this.push() }
    const i = this.waiters.findIndex(w => w.type === m.type)
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m)
  }
  edit (spec) { this.state = this.state.update({ changes: spec }).state }
  push () {
    const u = sendableUpdates(this.state)
    if (this.pushing || !u.length) return
    this.pushing = true
    this.ws.send(JSON.stringify({ type: 'push', path: this.file, version: getSyncedVersion(this.state), updates: u.map(x => ({ clientID: x.clientID, changes: x.changes.toJSON() })) }))
  }
  async settle () {
    for (let i = 0; i < 400 && (this.pushing || sendableUpdates(this.state).length); i++) { this.push(); await sleep(5) }
  }
  text () { return this.state.doc.toString() }
  close () { this.ws.close() }
}

test('collab clients converge, resume and see disk changes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-wsnode-'))
  const root = path.join(dir, 'root')
  fs.mkdirSync(root)
  fs.writeFileSync(path.join(root, 'a.txt'), 'one\r\ntwo\r\n')
  const { proc, url } = await startServer(root)
  try {
    const a = new Peer(url, 'a.txt'); const b = new Peer(url, 'a.txt')
    const da = await a.connect()
    assert.equal(da.text, 'one\ntwo\n')
    assert.equal(da.lineSep, '\r\n')
    await b.connect()
    // Concurrent edits: both push at version 0, one is refused and rebased.
    a.edit({ from: 0, insert: 'A😀' })
    b.edit({ from: 8, insert: 'B\r\nC' })
    a.push(); b.push()
    await a.settle(); await b.settle()
    await waitFor(() => a.text() === b.text() && getSyncedVersion(a.state) === 2)
    assert.equal(a.text(), b.text())
    assert.equal(a.text(), 'A😀one\ntwo\nB\nC')
    assert.equal(getSyncedVersion(a.state), 2)
    // b disconnects, a edits, b resumes from its version.
    b.close()
    a.edit({ from: 0, to: 3, insert: '' })
    a.push(); await a.settle()
    const rb = await b.connect(true)
    assert.equal(rb.text, null)
    await waitFor(() => b.text() === a.text())
    assert.equal(b.text(), a.text())
    await waitFor(() => fs.readFileSync(path.join(root, 'a.txt'), 'utf8') === 'one\r\ntwo\r\nB\r\nC')
    assert.equal(fs.readFileSync(path.join(root, 'a.txt'), 'utf8'), 'one\r\ntwo\r\nB\r\nC')
    // A program rewrites the file: a server update reaches both.
    const upd = a.next('updates')
    fs.writeFileSync(path.join(root, 'a.txt'), 'one\r\nTWO\r\n')
    const m = await upd
    assert.equal(m.updates[0].clientID, 'server')
    await waitFor(() => a.text() === 'one\nTWO\n' && b.text() === 'one\nTWO\n')
    assert.equal(a.text(), 'one\nTWO\n')
    assert.equal(b.text(), 'one\nTWO\n')
    a.close(); b.close()
  } finally {
    proc.kill('SIGTERM')
    await sleep(100)
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
