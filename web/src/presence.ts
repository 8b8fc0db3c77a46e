// Other users' cursors and selections, drawn in their colours with their
// names. The peers live in a StateField updated by effects and mapped through
// every document change, so positions follow concurrent edits.

import { StateEffect, StateField, type EditorState, type Extension, type Range } from '@codemirror/state';
import { Decoration, EditorView, WidgetType, type DecorationSet } from '@codemirror/view';

export interface Peer {
  client: number;
  name: string;
  color: string;
  ranges: { anchor: number; head: number }[];
}

export const setPeer = StateEffect.define<Peer>({
  map: (p, mapping) => ({
    ...p,
    ranges: p.ranges.map((r) => ({ anchor: mapping.mapPos(r.anchor), head: mapping.mapPos(r.head) })),
  }),
});
export const removePeer = StateEffect.define<number>();
export const clearPeers = StateEffect.define<null>();

function clamp(n: number, len: number): number {
  return Math.max(0, Math.min(len, Math.floor(Number.isFinite(n) ? n : 0)));
}

export const peersField = StateField.define<Map<number, Peer>>({
  create: () => new Map(),
  update(peers, tr) {
    let next = peers;
    if (tr.docChanged && peers.size) {
      next = new Map();
      for (const [k, p] of peers)
        next.set(k, {
          ...p,
          ranges: p.ranges.map((r) => ({ anchor: tr.changes.mapPos(r.anchor, 1), head: tr.changes.mapPos(r.head, 1) })),
        });
    }
    for (const e of tr.effects) {
      if (e.is(setPeer)) {
        if (next === peers) next = new Map(peers);
        const len = tr.state.doc.length;
        next.set(e.value.client, {
          ...e.value,
          ranges: e.value.ranges.slice(0, 100).map((r) => ({ anchor: clamp(r.anchor, len), head: clamp(r.head, len) })),
        });
      } else if (e.is(removePeer)) {
        if (next === peers) next = new Map(peers);
        next.delete(e.value);
      } else if (e.is(clearPeers)) {
        next = new Map();
      }
    }
    return next;
  },
});

export function peers(state: EditorState): Peer[] {
  return [...(state.field(peersField, false)?.values() ?? [])];
}

class CaretWidget extends WidgetType {
  constructor(
    readonly name: string,
    readonly color: string,
  ) {
    super();
  }
  eq(o: CaretWidget) {
    return o.name === this.name && o.color === this.color;
  }
  toDOM() {
    const caret = document.createElement('span');
    caret.className = 'cm-peer-caret';
    caret.style.borderColor = this.color;
    const label = document.createElement('span');
    label.className = 'cm-peer-name';
    label.textContent = this.name;
    label.style.background = this.color;
    caret.appendChild(label);
    caret.setAttribute('aria-label', `${this.name}'s cursor`);
    return caret;
  }
  ignoreEvent() {
    return true;
  }
}

function safeColor(c: string): string {
  return /^#[0-9a-fA-F]{3,8}$/.test(c) || /^[a-z]{3,20}$/.test(c) ? c : '#888888';
}

const peerDecorations = EditorView.decorations.compute([peersField], (state) => {
  const ranges: Range<Decoration>[] = [];
  const len = state.doc.length;
  for (const p of state.field(peersField).values()) {
    const color = safeColor(p.color);
    for (const r of p.ranges) {
      const from = clamp(Math.min(r.anchor, r.head), len);
      const to = clamp(Math.max(r.anchor, r.head), len);
      if (from < to)
        ranges.push(
          Decoration.mark({
            class: 'cm-peer-selection',
            attributes: { style: `background-color: ${color}33` },
          }).range(from, to),
        );
      ranges.push(
        Decoration.widget({ widget: new CaretWidget(p.name, color), side: 1 }).range(clamp(r.head, len)),
      );
    }
  }
  return Decoration.set(ranges, true) as DecorationSet;
});

export function presenceExtension(): Extension {
  return [peersField, peerDecorations];
}
