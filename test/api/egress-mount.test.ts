import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CreateEgress } from '../../src/sfu/egress-backend.ts';
import { API_KEY, startTestServer, type TestServer } from '../support/server.ts';

describe('embedded server with egress enabled', () => {
  let server: TestServer;
  const created: unknown[] = [];
  // Never called here: the media engine is off, so no SFU hands egress its source.
  const createEgress: CreateEgress = async (options) => {
    created.push(options);
    throw new Error('not expected');
  };

  before(async () => {
    server = await startTestServer({ EGRESS_ENABLED: 'true', CORS_ORIGINS: '' }, { egress: createEgress });
  });
  after(async () => {
    await server.close();
  });

  it('/egress/ is answered by egress (503 until it runs), outside the API origin policy', async () => {
    const res = await fetch(`${server.baseUrl}/egress/room-1/index.m3u8`, {
      headers: { origin: 'https://viewer.example.com' },
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(await res.text(), 'egress is not running');
    assert.deepEqual(created, []);
  });

  it('the REST API, its origin policy and health checks are unchanged', async () => {
    const foreign = await fetch(`${server.baseUrl}/busapi/v3/rooms/1`, {
      headers: { origin: 'https://viewer.example.com', 'x-api-key': API_KEY },
    });
    assert.equal(foreign.status, 403);
    const health = await fetch(`${server.baseUrl}/healthz`);
    assert.equal(health.status, 200);
    const notFound = await fetch(`${server.baseUrl}/egress`);
    assert.equal(notFound.status, 404);
  });
});
