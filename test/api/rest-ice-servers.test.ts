import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { turnCredential } from '../../src/api/ice-servers.ts';
import { DEFAULT_GRANTS, mintJoinToken } from '../../src/lib/join-token.ts';
import { startCoturn, type TestCoturn } from '../support/coturn.ts';
import { turnAllocate } from '../support/turn-client.ts';
import { type Api, login, startApi } from './harness.ts';

const TURN_SECRET = 'rest-ice-turn-secret-0123456789';
const IDENTITY_SECRET = 'rest-ice-identity-secret-0123456789abcdef';
const STUN = 'stun:stun.example.com:3478';

interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

describe('REST: GET /auth/ice-servers without TURN', () => {
  let bare: Api;
  let stunOnly: Api;
  before(async () => {
    bare = await startApi();
    stunOnly = await startApi({ ice: { stunUrls: [STUN], turn: undefined } });
  });
  after(async () => {
    await bare?.close();
    await stunOnly?.close();
  });

  it('answers the STUN list only (or nothing), never a credential', async () => {
    const a = await login(bare, 'ice-bare');
    assert.deepEqual((await bare.call('GET', '/auth/ice-servers', { token: a.token })).body, {
      iceServers: [],
    });
    const b = await login(stunOnly, 'ice-stun');
    const reply = await stunOnly.call('GET', '/auth/ice-servers', { token: b.token });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { iceServers: [{ urls: [STUN] }] });
  });

  it('needs the API key and an access token', async () => {
    const a = await login(stunOnly, 'ice-auth');
    const noToken = await stunOnly.call('GET', '/auth/ice-servers');
    assert.deepEqual([noToken.status, noToken.body.message], [401, 'Invalid token']);
    const noKey = await stunOnly.call('GET', '/auth/ice-servers', { token: a.token, apiKey: null });
    assert.deepEqual([noKey.status, noKey.body.message], [401, 'Invalid API Key']);
  });
});

/**
 * The route's credentials against a real TURN server: Debian's coturn with `use-auth-secret` and
 * the same secret allocates a relay with them over UDP and TCP, and refuses a wrong or an expired
 * one (401), as the TURN REST API scheme says.
 */
describe('REST: GET /auth/ice-servers credentials and coturn', () => {
  let api: Api;
  let coturn: TestCoturn;
  before(async () => {
    coturn = await startCoturn(TURN_SECRET);
    api = await startApi({
      identitySecret: IDENTITY_SECRET,
      ice: {
        stunUrls: [STUN],
        turn: { urls: [coturn.urls.udp, coturn.urls.tcp], secret: TURN_SECRET, ttlS: 3600 },
      },
    });
  });
  after(async () => {
    await api?.close();
    await coturn?.stop();
  });

  async function turnEntry(token: string): Promise<IceServer> {
    const reply = await api.call<{ iceServers: IceServer[] }>('GET', '/auth/ice-servers', { token });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body.iceServers[0], { urls: [STUN] });
    const turn = reply.body.iceServers[1];
    assert.ok(turn?.username && turn.credential, `a TURN entry with a credential: ${reply.text}`);
    return turn;
  }

  it('hands out `<expiry>:<user id>` valid TURN_TTL_SECONDS, and coturn allocates with it over UDP and TCP', async () => {
    const alice = await login(api, 'ice-alice');
    const before = Math.floor(Date.now() / 1000);
    const turn = await turnEntry(alice.token);
    assert.deepEqual(turn.urls, [coturn.urls.udp, coturn.urls.tcp]);
    const [expiry, userId] = turn.username!.split(':');
    assert.equal(userId, String(alice.id));
    assert.ok(Number(expiry) >= before + 3600 && Number(expiry) <= Math.ceil(Date.now() / 1000) + 3600);
    for (const transport of ['udp', 'tcp'] as const) {
      const result = await turnAllocate(
        { host: '127.0.0.1', port: coturn.port, transport },
        turn.username!,
        turn.credential!,
      );
      assert.ok(result.ok, `${transport} allocation: ${JSON.stringify(result)} ${coturn.log()}`);
      assert.equal(result.relayedAddress, '127.0.0.1');
    }
  });

  it('coturn refuses a wrong credential, another user name and an expired credential (401)', async () => {
    const bob = await login(api, 'ice-bob');
    const turn = await turnEntry(bob.token);
    const server = { host: '127.0.0.1', port: coturn.port, transport: 'udp' as const };
    const expired = turnCredential({ secret: TURN_SECRET, ttlS: 60 }, String(bob.id), Date.now() - 120_000);
    const otherSecret = turnCredential(
      { secret: `${TURN_SECRET}-other`, ttlS: 3600 },
      String(bob.id),
      Date.now(),
    );
    for (const [what, username, credential] of [
      ['credential made with another secret', otherSecret.username, otherSecret.credential],
      ['credential of another user name', turn.username!.replace(/:.*/, ':9999'), turn.credential!],
      ['expired credential', expired.username, expired.credential],
    ]) {
      const result = await turnAllocate(server, username!, credential!);
      assert.deepEqual(result.ok ? 'allocated' : result.errorCode, 401, what);
    }
  });

  it("a join token's holder gets credentials too (the route names no room)", async () => {
    const host = await login(api, 'ice-host');
    const room = await api.call('POST', '/rooms', { token: host.token, body: { title: 'Ice' } });
    assert.equal(room.status, 201);
    const grants = { ...DEFAULT_GRANTS };
    const joinToken = mintJoinToken(
      { identity: 'ice-guest', room: room.body.code, grants, ttlS: 600 },
      IDENTITY_SECRET,
    );
    const turn = await turnEntry(joinToken);
    const result = await turnAllocate(
      { host: '127.0.0.1', port: coturn.port, transport: 'udp' },
      turn.username!,
      turn.credential!,
    );
    assert.ok(result.ok, JSON.stringify(result));
  });
});
