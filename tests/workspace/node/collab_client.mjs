// A real @codemirror/collab client of the workspace server, driven by random
// edits, for the convergence test. Talks the protocol of
// docs/protocol-workspace.md over npm `ws`.
//
// node collab_client.mjs --url ws+unix:///tmp/x.sock:/ws --path doc.txt
//      --edits 1000 --seed 7 [--reconnect 0.003] [--max-delay-ms 3]
// stdout (one JSON object a line):
//   {"event":"done","edits":N}     quota reached and every edit confirmed
//   {"event":"report","version":V,"text":"..."}   answer to stdin "report V"
// stdin: "report V" (answer once synced to V with nothing unconfirmed), "quit".
import WebSocket from 'ws'
import { EditorState, ChangeSet } from '@codemirror/state'
import { collab, receiveUpdates, sendableUpdates, getSyncedVersion } from '@codemirror/collab'
import readline from 'node:readline'

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]])
  return acc
}, []))
const url = args.url
const path = args.path
const quota = Number(args.edits ?? 1000)
const reconnectProb = Number(args.reconnect ?? 0.003)
const maxDelay = Number(args['max-delay-ms'] ?? 3)
let seed = Number(args.seed ?? 1) >>> 0
function rand () { // mulberry32
  seed = (seed + 0x6D2B79F5) >>> 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = (a) => a[Math.floor(rand() * a.length)]
const POOL = ['a', 'xyz', ' ', '😀', '👍🏽', 'e\u0301', 'n\u0303o', '\n', 'foo\r\nbar', '\r\n', 'ß', '中文', '\t',
  'line1\nline2\n', '🇫🇷', 'Ω', '}', 'z\r\n\r\nw']

function log (...a) { process.stderr.write(`[node ${args.seed}] ${a.join(' ')}\n`) }
function out (o) { process.stdout.write(JSON.stringify(o) + '\n') }

let state = null
let ws = null
let ready = false
let pushing = false
let edits = 0
let doneSent = false
let reportWanted = null
let nextId = 1
let closing = false

// A position not inside a surrogate pair.
function boundary (doc, pos) {
  if (pos > 0 && pos < doc.length) {
    const s = doc.sliceString(pos - 1, pos + 1)
    const a = s.charCodeAt(0); const b = s.charCodeAt(1)
    if (a >= 0xD800 && a <= 0xDBFF && b >= 0xDC00 && b <= 0xDFFF) return pos - 1
  }
  return pos
}

function randomEdit () {
  const doc = state.doc
  const len = doc.length
  const del = len > 0 && ((len > 300 && rand() < 0.4) || rand() < 0.1 || len > 4000)
  let from = boundary(doc, Math.floor(rand() * (len + 1)))
  let to = from
  if (del) {
    to = boundary(doc, Math.min(len, from + 1 + Math.floor(rand() * (rand() < 0.2 ? 80 : 8))))
    if (to < from) to = from
  }
  const insert = del && rand() < 0.5 ? '' : pick(POOL)
  if (from === to && insert === '') return
  state = state.update({ changes: { from, to, insert } }).state
  edits++
  if (rand() < 0.1 && ready) {
    const head = boundary(state.doc, Math.floor(rand() * (state.doc.length + 1)))
    send({ type: 'presence', path, version: getSyncedVersion(state), ranges: [{ anchor: head, head }] })
  }
}

function send (m) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)) }

function push () {
  if (!ready || pushing) return
  const updates = sendableUpdates(state)
  if (!updates.length) return
  pushing = true
  send({
    type: 'push',
    id: nextId++,
    path,
    version: getSyncedVersion(state),
    updates: updates.slice(0, 100).map(u => ({ clientID: u.clientID, changes: u.changes.toJSON() }))
  })
}

function checkIdle () {
  if (!state || !ready) return
  const idle = sendableUpdates(state).length === 0 && !pushing
  if (edits >= quota && idle && !doneSent) {
    doneSent = true
    out({ event: 'done', edits })
  }
  if (reportWanted !== null && idle && getSyncedVersion(state) >= reportWanted) {
    out({ event: 'report', version: getSyncedVersion(state), text: state.doc.toString() })
    reportWanted = null
  }
}

function connect () {
  ws = new WebSocket(url)
  ws.on('open', () => {
    const m = { type: 'open', id: nextId++, path }
    if (state) m.version = getSyncedVersion(state)
    send({ type: 'hello', name: `node-${args.seed}`, color: '#61afef' })
    send(m)
  })
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString())
    switch (m.type) {
      case 'welcome': case 'ok': case 'fs': case 'presence': break
      case 'doc':
        if (m.text !== null) {
          state = EditorState.create({ doc: m.text, extensions: [collab({ startVersion: m.version })] })
        } else if (getSyncedVersion(state) !== m.version) {
          log('resume at', m.version, 'but synced at', getSyncedVersion(state)); process.exit(3)
        }
        ready = true
        break
      case 'updates': {
        const synced = getSyncedVersion(state)
        if (m.version > synced) { log('gap: got', m.version, 'at', synced); process.exit(3) }
        const fresh = m.updates.slice(synced - m.version)
        if (fresh.length) {
          state = receiveUpdates(state, fresh.map(u => ({ clientID: u.clientID, changes: ChangeSet.fromJSON(u.changes) }))).state
        }
        break
      }
      case 'pushed': pushing = false; break
      case 'resync':
        state = EditorState.create({ doc: m.text, extensions: [collab({ startVersion: m.version })] })
        break
      case 'error': log('error', JSON.stringify(m)); process.exit(4); break
      default: log('unexpected', JSON.stringify(m))
    }
    push()
    checkIdle()
  })
  ws.on('close', (code) => {
    ready = false; pushing = false
    if (closing) return
    if (code !== 1005 && code !== 1000 && code !== 1006) log('closed with', code)
    setTimeout(connect, Math.floor(rand() * 20))
  })
  ws.on('error', (e) => log('ws error', e.message))
}

function tick () {
  if (edits < quota && ready) {
    randomEdit()
    push()
    if (rand() < reconnectProb) { ready = false; pushing = false; ws.close() }
  }
  checkIdle()
  setTimeout(tick, Math.floor(rand() * (maxDelay + 1)))
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const [cmd, v] = line.trim().split(/\s+/)
  if (cmd === 'report') { reportWanted = Number(v); checkIdle() }
  if (cmd === 'quit') { closing = true; if (ws) ws.close(); setTimeout(() => process.exit(0), 50) }
})
rl.on('close', () => { closing = true; if (ws) ws.close(); setTimeout(() => process.exit(0), 50) })
setTimeout(() => { log('timed out'); process.exit(5) }, Number(args.timeout ?? 180) * 1000)

connect()
tick()
