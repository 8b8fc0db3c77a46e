// Work started as soon as the IDE route is known, in parallel with loading
// the IDE's code: the playground's REST lookup and the workspace WebSocket
// (welcome, tree). The IDE picks both up when it mounts.
import { Api, type FileEntry, type Playground } from './api';
import { wsUrl, type SocketState, type WebSocketLike } from './socket';
import { identity } from './ui';
import { WorkspaceClient, type FsChange, type WsError } from './workspace';

export interface WsBridge {
  tree: FileEntry[] | null;
  state: { s: SocketState; info: { attempt: number; retryInMs?: number; closeCode?: number } } | null;
  onState?: (s: SocketState, info: { attempt: number; retryInMs?: number; closeCode?: number }) => void;
  onTree?: (entries: FileEntry[]) => void;
  onFs?: (changes: FsChange[]) => void;
  onError?: (e: WsError) => void;
}

export interface EarlyIde {
  id: string;
  pg: Promise<Playground>;
  ws: WorkspaceClient;
  bridge: WsBridge;
}

export function startEarly(id: string, api = new Api()): EarlyIde {
  const pg = api.getPlayground(id);
  pg.catch(() => {}); // handled by the IDE
  const me = identity();
  const bridge: WsBridge = { tree: null, state: null };
  const ws = new WorkspaceClient({
    url: () => wsUrl(`/p/${encodeURIComponent(id)}/workspace`),
    factory: (u) => new WebSocket(u) as unknown as WebSocketLike,
    name: me.name,
    color: me.color,
    onState: (s, info) => {
      bridge.state = { s, info };
      bridge.onState?.(s, info);
    },
    onTree: (entries) => {
      bridge.tree = entries;
      bridge.onTree?.(entries);
    },
    onFs: (changes) => bridge.onFs?.(changes),
    onError: (e) => bridge.onError?.(e),
  });
  ws.start();
  return { id, pg, ws, bridge };
}
