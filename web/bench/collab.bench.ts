// Client-side cost of collaborative editing: our CollabDoc layer (update
// validation, shadow text, presence mapping) beside bare @codemirror/collab
// receiveUpdates on the same updates, and the cost of a full reload that
// rebases unsent edits. Run by bench/web.sh (vitest bench).
import { bench, describe } from 'vitest';
import { ChangeSet, EditorState, Transaction } from '@codemirror/state';
import { collab, receiveUpdates } from '@codemirror/collab';
import { CollabDoc } from '../src/collab';
import { presenceExtension } from '../src/presence';

const BASE = 'x'.repeat(20000) + '\n';
// 1000 single-character inserts from another client, as JSON on the wire.
function makeUpdates(n: number, docLen: number) {
  const out: { clientID: string; changes: unknown }[] = [];
  let len = docLen;
  for (let i = 0; i < n; i++) {
    const pos = (i * 7919) % (len + 1);
    out.push({ clientID: 'other', changes: ChangeSet.of([{ from: pos, insert: 'a' }], len).toJSON() });
    len++;
  }
  return out;
}
const UPDATES = makeUpdates(1000, BASE.length);

function headless() {
  const host = {
    state: EditorState.create({ doc: '' }),
    dispatch(spec: any) {
      host.state = spec instanceof Transaction ? spec.state : host.state.update(spec).state;
    },
    setState(s: EditorState) {
      host.state = s;
    },
  };
  const doc = new CollabDoc('a.txt', host, { extensions: () => presenceExtension() });
  doc.onMessage({ type: 'doc', path: 'a.txt', version: 0, text: BASE, lineSep: '\n' });
  return { host, doc };
}

describe('receive 1000 remote updates (one message each)', () => {
  bench('playground CollabDoc', () => {
    const { doc } = headless();
    for (let i = 0; i < UPDATES.length; i++) doc.onMessage({ type: 'updates', path: 'a.txt', version: i, updates: [UPDATES[i]] });
  });
  bench('bare @codemirror/collab receiveUpdates', () => {
    let state = EditorState.create({ doc: BASE, extensions: [collab({ startVersion: 0 })] });
    for (const u of UPDATES) state = receiveUpdates(state, [{ clientID: u.clientID, changes: ChangeSet.fromJSON(u.changes) }]).state;
  });
});

describe('reload a 20 KB document keeping 200 unsent edits', () => {
  bench('playground CollabDoc rebase', () => {
    const { host, doc } = headless();
    for (let i = 0; i < 200; i++) {
      host.dispatch(host.state.update({ changes: { from: (i * 31) % host.state.doc.length, insert: 'u' } }));
    }
    doc.onMessage({ type: 'resync', path: 'a.txt', version: 50, text: 'server prefix\n' + BASE, lineSep: '\n' });
    if (doc.unsent !== 1) throw new Error('rebase lost edits');
  });
});
