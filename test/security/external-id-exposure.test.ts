import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { login, nextEvent, type TestUser } from '../support/clients.ts';
import { startTestServer } from '../support/server.ts';
import { useServerWithClients } from '../support/server-clients.ts';

/**
 * Finding 4, "account takeover through externalId": another user's externalId never leaves the
 * server (the field stays, empty), and in strict login mode an externalId alone logs nobody in.
 */

// biome-ignore lint/suspicious/noExplicitAny: JSON replies are checked key by key.
type Json = any;

const USER_KEYS = [
  'id',
  'fullName',
  'userName',
  'bio',
  'externalId',
  'avatar',
  'createdAt',
  'updatedAt',
  'deletedAt',
  'lastSeenAt',
];
const IDENTITY_SECRET = 'identity-secret-for-tests-0123456789abcdef';
const BIN = path.resolve('bin/bbmeet.mjs');

/** The externalId each user id is shown with, in a list of members or participants. */
function shownExternalIds(rows: Json[]): Map<number, string> {
  return new Map(
    rows.map((row) => {
      assert.deepEqual(Object.keys(row.user).sort(), [...USER_KEYS].sort(), 'the user object keeps its keys');
      return [row.userId, row.user.externalId];
    }),
  );
}

/** An HS256 assertion as the operator's backend mints it. */
function identityAssertion(claims: Record<string, unknown>, secret = IDENTITY_SECRET): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

const nowS = () => Math.floor(Date.now() / 1000);

/** Runs `bbmeet <args>` with only the given variables (and PATH); cwd has no .env file to read. */
async function runCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: path.dirname(BIN),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, out, err };
}

describe('finding 4: another user’s externalId is never shown', () => {
  const live = useServerWithClients();
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let room: Json;

  before(async () => {
    alice = await login(live.call, 'ext-alice-private', 'Alice');
    bob = await login(live.call, 'ext-bob-private', 'Bob');
    carol = await login(live.call, 'ext-carol-private', 'Carol');
    room = (await live.call('POST', '/rooms', { token: alice.token, body: { title: 'Exposure' } })).body;
    const added = await live.call('POST', `/rooms/${room.id}/members`, {
      token: alice.token,
      body: { userId: bob.id },
    });
    assert.equal(added.status, 201);
    assert.deepEqual(shownExternalIds((added.body as Json).members).get(alice.id), 'ext-alice-private');
    assert.deepEqual(shownExternalIds((added.body as Json).members).get(bob.id), '');
    const sent = await live.call<Json>('POST', `/chats/${room.id}`, {
      token: alice.token,
      body: { data: 'hi' },
    });
    assert.equal(sent.body.createdBy.externalId, 'ext-alice-private', 'the author sees their own');
  });

  it('GET /rooms/{code} as a non-member shows "" for every member', async () => {
    const res = await live.call<Json>('GET', `/rooms/${room.code}`, { token: carol.token });
    assert.equal(res.status, 200);
    const shown = shownExternalIds(res.body.members);
    assert.equal(shown.get(alice.id), '');
    assert.equal(shown.get(bob.id), '');
  });

  it('GET /rooms/{code} as a member shows the own externalId and "" for the others', async () => {
    const res = await live.call<Json>('GET', `/rooms/${room.code}`, { token: bob.token });
    const shown = shownExternalIds(res.body.members);
    assert.equal(shown.get(alice.id), '');
    assert.equal(shown.get(bob.id), 'ext-bob-private');
  });

  it('GET /rooms (room list) and GET /chats/:id show "" for the others', async () => {
    const list = await live.call<Json>('GET', '/rooms', { token: bob.token });
    const listed = list.body.rooms.find((r: Json) => r.id === room.id);
    const shown = shownExternalIds(listed.members);
    assert.equal(shown.get(alice.id), '');
    assert.equal(shown.get(bob.id), 'ext-bob-private');
    assert.equal(listed.latestMessage.createdBy.externalId, '');
    const chats = await live.call<Json>('GET', `/chats/${room.id}`, { token: bob.token });
    assert.equal(chats.status, 200);
    assert.equal(chats.body.messages[0].createdBy.externalId, '');
    const own = await live.call<Json>('GET', `/chats/${room.id}`, { token: alice.token });
    assert.equal(own.body.messages[0].createdBy.externalId, 'ext-alice-private');
  });

  it('the own profile (POST /auth, GET /users) keeps its externalId', async () => {
    const res = await live.call<Json>('POST', '/auth', {
      body: { fullName: 'Bob', externalId: 'ext-bob-private' },
    });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body.user).sort(), [...USER_KEYS].sort());
    assert.equal(res.body.user.externalId, 'ext-bob-private');
    const me = await live.call<Json>('GET', '/users', { token: bob.token });
    assert.equal(me.body.externalId, 'ext-bob-private');
  });

  it('socket room.new_participant and chat.send show "" for the others', async () => {
    const joined = async (user: TestUser, own: string) => {
      const res = await live.call<Json>('POST', `/rooms/${room.id}/join`, { token: user.token, body: {} });
      assert.equal(res.status, 201);
      const shown = shownExternalIds(res.body.members);
      for (const [id, ext] of shown) assert.equal(ext, id === user.id ? own : '', `member ${id}`);
      return res.body.participants.find((p: Json) => p.userId === user.id).id as number;
    };
    const alicePid = await joined(alice, 'ext-alice-private');
    const bobPid = await joined(bob, 'ext-bob-private');
    const a = await live.connect(alice.token);
    const b = await live.connect(bob.token);
    const publish = (pid: number) => ({
      sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n',
      roomId: String(room.id),
      participantId: String(pid),
      isVideoEnabled: true,
      isAudioEnabled: false,
      isE2eeEnabled: false,
      totalTracks: 1,
      connectionType: 0,
    });
    await a.timeout(5000).emitWithAck('room.publish', publish(alicePid));
    const announced = nextEvent<Json>(a, 'room.new_participant', 5000);
    b.emit('room.publish', publish(bobPid));
    const np = await announced;
    assert.equal(np.participant.user.id, bob.id);
    assert.deepEqual(Object.keys(np.participant.user).sort(), [...USER_KEYS].sort());
    assert.equal(np.participant.user.externalId, '');
    const chat = nextEvent<Json>(a, 'chat.send', 5000);
    const sent = await live.call<Json>('POST', `/chats/${room.id}`, {
      token: bob.token,
      body: { data: 'yo' },
    });
    assert.equal(sent.body.createdBy.externalId, 'ext-bob-private', 'the REST reply goes to the author');
    assert.equal((await chat).createdBy.externalId, '', 'the broadcast goes to the others');
  });
});

describe('finding 4: strict login mode (AUTH_LOGIN_MODE=strict)', () => {
  const live = useServerWithClients(() =>
    startTestServer({
      AUTH_LOGIN_MODE: 'strict',
      AUTH_IDENTITY_SECRET: IDENTITY_SECRET,
      GUEST_LOGIN_ENABLED: 'true',
    }),
  );

  const loginWith = (assertion: string | undefined, body: Json = { fullName: 'Dana', externalId: 'idp-1' }) =>
    fetch(`${live.server.baseUrl}/busapi/v3/auth`, {
      method: 'POST',
      headers: {
        'x-api-key': 'test-api-key',
        'content-type': 'application/json',
        ...(assertion ? { authorization: `Bearer ${assertion}` } : {}),
      },
      body: JSON.stringify(body),
    });

  it('refuses a login with only the API key and an externalId (403 naming the setting)', async () => {
    const res = await loginWith(undefined);
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as Json).message, /AUTH_LOGIN_MODE/);
  });

  it('accepts a valid identity assertion and logs in the user it names', async () => {
    const assertion = identityAssertion({ externalId: 'idp-1', fullName: 'Dana', exp: nowS() + 300 });
    const res = await loginWith(assertion, {});
    assert.equal(res.status, 201);
    const body = (await res.json()) as Json;
    assert.equal(body.user.externalId, 'idp-1');
    assert.equal(body.user.fullName, 'Dana');
    assert.equal((await live.call('GET', '/users', { token: body.token })).status, 200);
    // The externalId of the body does not override the verified one.
    const again = await loginWith(assertion, { fullName: 'X', externalId: 'someone-else' });
    assert.equal(((await again.json()) as Json).user.id, body.user.id);
  });

  it('refuses an expired, wrongly signed, too long-lived or incomplete assertion (401)', async () => {
    const cases = {
      expired: identityAssertion({ externalId: 'idp-1', exp: nowS() - 3600 }),
      'wrong secret': identityAssertion(
        { externalId: 'idp-1', exp: nowS() + 300 },
        'another-secret-0123456789abcdef',
      ),
      'expiry over 10 min': identityAssertion({ externalId: 'idp-1', exp: nowS() + 3600 }),
      'no externalId': identityAssertion({ exp: nowS() + 300 }),
      'no exp': identityAssertion({ externalId: 'idp-1' }),
    };
    for (const [name, assertion] of Object.entries(cases)) {
      const res = await loginWith(assertion);
      assert.equal(res.status, 401, name);
    }
  });

  it('guest login is off whatever GUEST_LOGIN_ENABLED says', async () => {
    const res = await fetch(`${live.server.baseUrl}/busapi/v3/guest/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fullName: 'Guest' }),
    });
    assert.equal(res.status, 404);
  });

  it('the configuration refuses strict mode without AUTH_IDENTITY_SECRET', () => {
    const load = (env: Record<string, string>) =>
      loadConfig({
        env: {
          CLIENT_SECRET_KEY: 'k',
          AUTH_JWT_SECRET: 'j'.repeat(32),
          AUTH_REFRESH_SECRET: 'r'.repeat(32),
          ...env,
        },
        generateMissingSecrets: false,
        isTty: false,
      });
    assert.throws(
      () => load({ AUTH_LOGIN_MODE: 'strict' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /AUTH_IDENTITY_SECRET/);
        return true;
      },
    );
    assert.equal(load({}).auth.loginMode, 'open');
  });

  it('bbmeet identity-token mints an assertion that the strict server accepts; --help describes it', async () => {
    const minted = await runCli(['identity-token', '--external-id', 'idp-cli', '--full-name', 'Cli User'], {
      AUTH_IDENTITY_SECRET: IDENTITY_SECRET,
    });
    assert.equal(minted.code, 0, minted.err);
    const res = await loginWith(minted.out.trim(), {});
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as Json).user.externalId, 'idp-cli');
    const help = await runCli(['identity-token', '--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.out, /AUTH_LOGIN_MODE=strict/);
    assert.match(help.out, /--external-id/);
    const noSecret = await runCli(['identity-token', '--external-id', 'x'], {});
    assert.equal(noSecret.code, 1);
    assert.match(noSecret.err, /AUTH_IDENTITY_SECRET/);
  });
});
