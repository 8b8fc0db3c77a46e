// Benchmark driver (bench/workspace.sh): the playground workspace server and
// @y/websocket-server (the Yjs reference server) measured side by side in the
// same run, over TCP loopback, with the same driver process and equivalent
// edits (insert one character at the start of a shared text):
//   - edit fan-out latency p50/p99 with 2, 16, 64 clients on one document
//     (from the edit leaving the writer to each other client receiving it,
//     one edit at a time; receivers apply what they get: ChangeSet /
//     Y.applyUpdate);
//   - sustained accepted updates per second with 2, 16, 64 clients all
//     editing (playground: each client pushes one update at its synced
//     version and retries when refused, as @codemirror/collab does; Yjs: a
//     window of N updates in flight), counted where an observer client
//     receives them;
//   - server memory per open document (200 documents of 10 KB);
//   - the cost of one edit (push → acknowledgement) in a 1 KB and a 5 MB
//     document (playground only: Yjs has no acknowledgement).
// Prints one JSON object (results) on stdout; bench/workspace.sh formats it.
//
// node bench_driver.mjs --binary build/playground [--quick]
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as syncProtocol from 'y-protocols/sync'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { ChangeSet, Text } from '@codemirror/state'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : true])
  return acc
}, []))
const quick = !!args.quick
const binary = args.binary
const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))
const now = () => Number(process.hrtime.bigint()) / 1e6 // ms
const log = (...a) => process.stderr.write(a.join(' ') + '\n')

function freePort () {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) })
  })
}
function rssKb (pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(s)[1])
}
async function waitHttp (port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await sleep(25)
  }
  throw new Error('server did not start on ' + port)
}
function percentile (xs, p) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]
}
const text1k = ('const x = 1; // some code\n'.repeat(40)).slice(0, 1024)

// ------------------------------------------------------------------ playground

class PgClient {
  constructor (port) { this.port = port; this.handlers = new Map(); this.docs = new Map() }
  connect () {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(`ws://127.0.0.1:${this.port}/ws`, { perMessageDeflate: false })
      this.ws.on('message', (d) => this.onMessage(JSON.parse(d.toString())))
      this.ws.on('error', reject)
      this.ws.on('open', resolve)
    })
  }
  onMessage (m) {
    const h = this.handlers.get(m.type)
    if (h) h(m)
  }
  send (m) { this.ws.send(JSON.stringify(m)) }
  open (p) {
    return new Promise((resolve) => {
      this.handlers.set('doc', (m) => { this.handlers.delete('doc'); resolve(m) })
      this.send({ type: 'open', id: 1, path: p })
    })
  }
  close () { this.ws.close() }
}

async function pgLatency (port, n, edits) {
  const p = `lat-${n}.txt`
  const clients = []
  for (let i = 0; i < n; i++) { const c = new PgClient(port); await c.connect(); clients.push(c) }
  let version = 0
  let len = 0
  for (const c of clients) {
    const d = await c.open(p)
    version = d.version; len = d.text.length
    c.doc = Text.of(d.text.split('\n'))
  }
  const samples = []
  let pending = 0; let t0 = 0; let done = null
  for (let i = 1; i < n; i++) {
    const c = clients[i]
    c.handlers.set('updates', (m) => {
      for (const u of m.updates) c.doc = ChangeSet.fromJSON(u.changes).apply(c.doc)
      samples.push(now() - t0)
      if (--pending === 0) done()
    })
  }
  clients[0].handlers.set('updates', (m) => { version = m.version + m.updates.length })
  for (let e = 0; e < edits; e++) {
    pending = n - 1
    const wait = new Promise(resolve => { done = resolve })
    t0 = now()
    clients[0].send({ type: 'push', path: p, version, updates: [{ clientID: 'w', changes: [[0, 'x'], len] }] })
    len++
    await wait
    // let the writer see its own update (the version)
    while (version < e + 1) await sleep(0)
  }
  for (const c of clients) c.close()
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), samples: samples.length }
}

// `batch` > 1: a client pushes that many updates at once (a collab client
// sends all its unconfirmed updates; here it always has `batch` ready).
async function pgThroughput (port, n, seconds, batch = 1) {
  const p = `tp-${n}-${batch}.txt`
  fs.writeFileSync(path.join(root, p), text1k)
  const clients = []
  for (let i = 0; i < n; i++) { const c = new PgClient(port); await c.connect(); clients.push(c) }
  let len0 = 0
  let base = 0
  for (const c of clients) {
    const d = await c.open(p)
    c.version = d.version; base = d.version; len0 = d.text.length - d.version
    c.inflight = false
  }
  let running = true
  let received = 0
  let accepted = 0; let refused = 0
  const push = (c) => {
    if (!running || c.inflight) return
    c.inflight = true
    const updates = []
    for (let k = 0; k < batch; k++) updates.push({ clientID: c.id, changes: [[0, 'x'], len0 + c.version + k] })
    c.send({ type: 'push', path: p, version: c.version, updates })
  }
  clients.forEach((c, i) => {
    c.id = 'c' + i
    c.handlers.set('updates', (m) => {
      c.version = m.version + m.updates.length
      if (i === 0) received += m.updates.length
    })
    c.handlers.set('pushed', (m) => {
      c.inflight = false
      if (m.accepted) accepted++; else refused++
      push(c)
    })
  })
  const t0 = now()
  clients.forEach(push)
  await sleep(seconds * 1000)
  running = false
  const dt = (now() - t0) / 1000
  const rate = received / dt
  await sleep(200)
  for (const c of clients) c.close()
  return { updatesPerSec: rate, accepted, refused }
}

async function pgEditCost (port, file, edits) {
  const c = new PgClient(port)
  await c.connect()
  const d = await c.open(file)
  let version = d.version
  let len = d.text.length
  const times = []
  let resolve
  c.handlers.set('pushed', (m) => { version = m.version; resolve() })
  let seed = 7
  for (let e = 0; e < edits; e++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const pos = seed % len
    const wait = new Promise(r => { resolve = r })
    const t0 = now()
    c.send({ type: 'push', path: file, version, updates: [{ clientID: 'e', changes: [pos, [0, 'x'], len - pos] }] })
    await wait
    times.push(now() - t0)
    len++
  }
  c.close()
  return { meanUs: 1000 * times.reduce((a, b) => a + b, 0) / times.length, p50Us: 1000 * percentile(times, 50) }
}

async function pgMemory (port, pid, root, docs) {
  for (let i = 0; i < docs; i++) fs.writeFileSync(path.join(root, `mem-${i}.txt`), text1k.repeat(10))
  const clients = []
  await sleep(300)
  const before = rssKb(pid)
  for (let i = 0; i < docs; i++) {
    if (i % 50 === 0) { const c = new PgClient(port); await c.connect(); clients.push(c) }
    await clients[clients.length - 1].open(`mem-${i}.txt`)
  }
  await sleep(300)
  const after = rssKb(pid)
  for (const c of clients) c.close()
  return { perDocKb: (after - before) / docs }
}

// ------------------------------------------------------------------ Yjs

const messageSync = 0
class YClient {
  constructor (port, room, apply = true) {
    this.port = port; this.room = room; this.apply = apply
    this.doc = new Y.Doc()
    this.onUpdate = null
  }
  connect () {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(`ws://127.0.0.1:${this.port}/${this.room}`, { perMessageDeflate: false })
      this.ws.binaryType = 'arraybuffer'
      let synced = false
      this.ws.on('message', (data) => {
        const buf = new Uint8Array(data)
        const decoder = decoding.createDecoder(buf)
        const type = decoding.readVarUint(decoder)
        if (type !== messageSync) return
        if (!this.apply && synced) { if (this.onUpdate) this.onUpdate(); return }
        const encoder = encoding.createEncoder()
        encoding.writeVarUint(encoder, messageSync)
        const st = syncProtocol.readSyncMessage(decoder, encoder, this.doc, this)
        if (encoding.length(encoder) > 1) this.ws.send(encoding.toUint8Array(encoder))
        if (st === syncProtocol.messageYjsSyncStep2 && !synced) { synced = true; resolve() }
        if (st === syncProtocol.messageYjsUpdate && this.onUpdate) this.onUpdate()
      })
      this.ws.on('error', reject)
      this.ws.on('open', () => {
        const encoder = encoding.createEncoder()
        encoding.writeVarUint(encoder, messageSync)
        syncProtocol.writeSyncStep1(encoder, this.doc)
        this.ws.send(encoding.toUint8Array(encoder))
      })
      this.doc.on('update', (update, origin) => {
        if (origin === this) return
        const encoder = encoding.createEncoder()
        encoding.writeVarUint(encoder, messageSync)
        syncProtocol.writeUpdate(encoder, update)
        this.ws.send(encoding.toUint8Array(encoder))
      })
    })
  }
  close () { this.ws.close() }
}

async function yLatency (port, n, edits) {
  const room = `lat-${n}`
  const clients = []
  for (let i = 0; i < n; i++) { const c = new YClient(port, room); await c.connect(); clients.push(c) }
  clients[0].doc.getText('t').insert(0, text1k)
  await sleep(200)
  const samples = []
  let pending = 0; let t0 = 0; let done = null
  for (let i = 1; i < n; i++) {
    clients[i].onUpdate = () => { samples.push(now() - t0); if (--pending === 0) done() }
  }
  await sleep(100)
  for (let e = 0; e < edits; e++) {
    pending = n - 1
    const wait = new Promise(resolve => { done = resolve })
    t0 = now()
    clients[0].doc.getText('t').insert(0, 'x')
    await wait
  }
  for (const c of clients) c.close()
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), samples: samples.length }
}

async function yThroughput (port, n, seconds) {
  const room = `tp-${n}`
  const clients = []
  for (let i = 0; i < n; i++) { const c = new YClient(port, room, false); await c.connect(); clients.push(c) }
  let received = 0; let sent = 0
  let running = true
  const window = n
  clients[0].onUpdate = () => { received++; pump() }
  // Writers are real Y.Docs; each sends while fewer than `window` updates
  // are on their way to the observer.
  let next = 1 % n
  function pump () {
    while (running && sent - received < window) {
      const c = clients[next]
      next = (next + 1) % n
      if (n > 1 && next === 0) next = 1
      c.doc.getText('t').insert(0, 'x')
      sent++
    }
  }
  const t0 = now()
  pump()
  await sleep(seconds * 1000)
  running = false
  const dt = (now() - t0) / 1000
  const rate = received / dt
  await sleep(200)
  for (const c of clients) c.close()
  return { updatesPerSec: rate }
}

async function yMemory (port, pid, docs) {
  await sleep(300)
  const before = rssKb(pid)
  const clients = []
  for (let i = 0; i < docs; i++) {
    const c = new YClient(port, `mem-${i}`)
    await c.connect()
    c.doc.getText('t').insert(0, text1k.repeat(10))
    clients.push(c)
  }
  await sleep(500)
  const after = rssKb(pid)
  for (const c of clients) c.close()
  return { perDocKb: (after - before) / docs }
}

// ------------------------------------------------------------------ main

let root
async function main () {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-wsbench-'))
  fs.writeFileSync(path.join(root, 'small.txt'), text1k)
  for (const n of [2, 16, 64]) {
    fs.writeFileSync(path.join(root, `lat-${n}.txt`), text1k)
    fs.writeFileSync(path.join(root, `tp-${n}.txt`), text1k)
  }
  fs.writeFileSync(path.join(root, 'big.txt'), text1k.repeat(5 * 1024))
  const pgPort = await freePort()
  const yPort = await freePort()
  const pg = spawn(binary, ['workspace-server', '--root', root, '--listen', `tcp:127.0.0.1:${pgPort}`,
    '--log-level', 'warn', '--rate-limit', '10000000'], { stdio: ['ignore', 'ignore', 'inherit'] })
  const ys = spawn(process.execPath, [path.join(here, 'node_modules/@y/websocket-server/src/server.js')],
    { env: { ...process.env, HOST: '127.0.0.1', PORT: String(yPort) }, stdio: ['ignore', 'ignore', 'inherit'] })
  try {
    await waitHttp(pgPort)
    await waitHttp(yPort)
    const results = { clients: {}, memory: {}, editCost: {} }
    const edits = quick ? 200 : 1000
    const seconds = quick ? 1 : 3
    for (const n of [2, 16, 64]) {
      log(`clients ${n}: latency`)
      const pl = await pgLatency(pgPort, n, n === 64 ? edits / 2 : edits)
      const yl = await yLatency(yPort, n, n === 64 ? edits / 2 : edits)
      log(`clients ${n}: throughput`)
      const pt = await pgThroughput(pgPort, n, seconds)
      const pb = await pgThroughput(pgPort, n, seconds, 10)
      const yt = await yThroughput(yPort, n, seconds)
      results.clients[n] = { playground: { ...pl, ...pt, batchedPerSec: pb.updatesPerSec }, yjs: { ...yl, ...yt } }
    }
    log('memory')
    results.memory.playground = await pgMemory(pgPort, pg.pid, root, 200)
    results.memory.yjs = await yMemory(yPort, ys.pid, 200)
    log('edit cost')
    results.editCost.small = await pgEditCost(pgPort, 'small.txt', quick ? 300 : 2000)
    results.editCost.big = await pgEditCost(pgPort, 'big.txt', quick ? 300 : 2000)
    results.editCost.bigBytes = fs.statSync(path.join(root, 'big.txt')).size
    process.stdout.write(JSON.stringify(results) + '\n')
  } finally {
    pg.kill('SIGTERM'); ys.kill('SIGTERM')
    await sleep(300)
    fs.rmSync(root, { recursive: true, force: true })
  }
}

main().then(() => process.exit(0), (e) => { log(e.stack); process.exit(1) })
