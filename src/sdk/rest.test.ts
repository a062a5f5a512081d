import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FetchRoomApi, HttpError } from './rest.ts';
import type { EgressJson } from './types.ts';

/** The SDK's REST client against a fake `fetch`: the egress calls' methods, paths, bodies, errors. */

interface Seen {
  method: string;
  url: string;
  body: unknown;
  headers: Record<string, string>;
}

function fakeFetch(reply: (seen: Seen) => { status: number; body: unknown }) {
  const seen: Seen[] = [];
  const fetch = async (url: string | URL | Request, init?: RequestInit) => {
    const s: Seen = {
      method: init?.method ?? 'GET',
      url: String(url),
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      headers: (init?.headers ?? {}) as Record<string, string>,
    };
    seen.push(s);
    const r = reply(s);
    return new Response(JSON.stringify(r.body), { status: r.status });
  };
  return { seen, fetch: fetch as typeof globalThis.fetch };
}

const egress: EgressJson = {
  egressId: 'eg-1',
  roomId: '7',
  kind: 'hls',
  participantId: null,
  state: 'starting',
  startedAt: 1,
  endedAt: null,
  reason: null,
  playlist: 'eg-1/master.m3u8',
  files: [],
  moqPath: null,
  nodeId: 'node-a',
  baseUrl: null,
  urls: ['https://meet.test/egress/eg-1/master.m3u8'],
};

describe('FetchRoomApi egress calls', () => {
  it('start, list and stop hit the room egress routes with the token and API key', async () => {
    const fake = fakeFetch((s) => ({
      status: s.method === 'POST' ? 201 : 200,
      body: s.method === 'GET' ? [egress] : egress,
    }));
    const api = new FetchRoomApi({
      url: 'https://meet.test/',
      token: 'tok',
      apiKey: 'key',
      fetch: fake.fetch,
    });
    assert.deepEqual(await api.startEgress(7, { kind: 'hls' }), egress);
    assert.deepEqual(await api.listEgress(7), [egress]);
    assert.deepEqual(await api.stopEgress(7, 'eg-1'), egress);
    assert.deepEqual(
      fake.seen.map((s) => [s.method, s.url, s.body]),
      [
        ['POST', 'https://meet.test/busapi/v3/rooms/7/egress', { kind: 'hls' }],
        ['GET', 'https://meet.test/busapi/v3/rooms/7/egress', undefined],
        ['DELETE', 'https://meet.test/busapi/v3/rooms/7/egress/eg-1', undefined],
      ],
    );
    assert.equal(fake.seen[0]?.headers.authorization, 'Bearer tok');
    assert.equal(fake.seen[0]?.headers['x-api-key'], 'key');
  });

  it('a server without egress (501) or a non-host (403) rejects with the status and the server message', async () => {
    for (const status of [501, 403]) {
      const fake = fakeFetch(() => ({ status, body: { message: `refused ${status}` } }));
      const api = new FetchRoomApi({ url: 'https://meet.test', token: 't', apiKey: 'k', fetch: fake.fetch });
      await assert.rejects(api.listEgress(7), (err: unknown) => {
        assert.ok(err instanceof HttpError);
        assert.equal(err.status, status);
        assert.match(err.message, new RegExp(`refused ${status}`));
        return true;
      });
    }
  });
});

describe('FetchRoomApi.iceServers()', () => {
  it('GET /auth/ice-servers with the token and API key, answering the iceServers list', async () => {
    const servers = [{ urls: ['turn:turn.test:3478'], username: '1700000000:7', credential: 'c' }];
    const fake = fakeFetch(() => ({ status: 200, body: { iceServers: servers } }));
    const api = new FetchRoomApi({
      url: 'https://meet.test',
      token: 'tok',
      apiKey: 'key',
      fetch: fake.fetch,
    });
    assert.deepEqual(await api.iceServers(), servers);
    assert.deepEqual(
      fake.seen.map((s) => [s.method, s.url, s.headers.authorization, s.headers['x-api-key']]),
      [['GET', 'https://meet.test/busapi/v3/auth/ice-servers', 'Bearer tok', 'key']],
    );
  });
});
