// The collab client against the real C++ workspace server ($PG_BINARY).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { collabSuite } from './collab_suite';
import { binary, RealServer } from './servers';

describe.skipIf(!binary)('collab client vs the real workspace server', () => {
  const server = new RealServer('workspace-server');
  beforeAll(() => server.start());
  afterAll(async () => {
    await server.stop();
    server.cleanup();
  });
  collabSuite(() => ({
    url: server.wsUrl,
    seed: async (p, t) => fs.writeFileSync(path.join(server.root, p), t),
    text: async (p) => {
      try {
        return fs.readFileSync(path.join(server.root, p), 'utf8');
      } catch {
        return undefined;
      }
    },
    restart: async () => {
      await server.stop('SIGTERM');
      await server.start();
    },
  }));
});
