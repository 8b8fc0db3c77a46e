// The collab client against the reference protocol server (npm ws).
import { afterAll, beforeAll, describe } from 'vitest';
import { RefServer } from './refserver';
import { collabSuite } from './collab_suite';

describe('collab client vs reference server', () => {
  const server = new RefServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());
  collabSuite(() => ({
    url: () => server.url,
    seed: async (p, t) => void server.files.set(p, t),
    text: async (p) => server.docText(p),
    restart: () => server.restart(),
  }));
});
