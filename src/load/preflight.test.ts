import { afterEach, describe, expect, it } from 'vitest';

import { preflight } from './preflight.js';
import { defaultRequest } from './request.js';
import { startTestSseServer, type TestSseServer, type TestSseServerOptions } from './testing-server.js';

const servers: TestSseServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(options: TestSseServerOptions = {}): Promise<TestSseServer> {
  const server = await startTestSseServer(options);
  servers.push(server);
  return server;
}

describe('preflight', () => {
  it('passes a route that answers an event stream', async () => {
    const server = await serve({ events: 3 });
    expect(await preflight(server.origin, defaultRequest('/chat/stream/{id}'))).toBeNull();
    expect(server.stats.ids[0]).toMatch(/^preflight-\d+$/);
  });

  it('names the status and the path it tried', async () => {
    const server = await serve();
    expect(await preflight(server.origin, defaultRequest('/nope/{id}'))).toMatch(/^answers 404 on \/nope\/preflight-\d+/);
  });
});
