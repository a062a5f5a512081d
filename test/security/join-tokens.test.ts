import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { type JoinGrants, mintJoinToken } from '../../src/lib/join-token.ts';
import { connectSocket, login, nextEvent, recordEvents, type TestUser } from '../support/clients.ts';
import { API_KEY, startTestServer } from '../support/server.ts';
import { useServerWithClients } from '../support/server-clients.ts';

const BIN = path.resolve('bin/bbmeet.mjs');
const SECRET = 'join-token-test-server-secret-0123456789';
const SENDING = 'v=0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\n';
const RECEIVING = 'v=0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n';

interface Room {
  id: number;
  code: string;
  participants: Array<{ id: number; userId: number }>;
}

function publishPayload(roomId: number, participantId: number, sdp = SENDING) {
  return {
    sdp,
    roomId: String(roomId),
    participantId: String(participantId),
    isVideoEnabled: true,
    isAudioEnabled: true,
    isE2eeEnabled: false,
    totalTracks: 1,
    connectionType: 0,
  };
}

/**
 * Join tokens (LiveKit-style grants): minted with the server-only secret for one identity and one
 * room; valid in that room only, until they expire; every grant enforced on REST and the socket.
 */
describe('security: join tokens', () => {
  const live = useServerWithClients(() => startTestServer({ AUTH_IDENTITY_SECRET: SECRET }));
  let alice: TestUser;
  let roomA: Room;
  let roomB: Room;

  before(async () => {
    alice = await login(live.call, 'jt-alice');
    const create = async (title: string) =>
      (await live.call<Room>('POST', '/rooms', { token: alice.token, body: { title, password: 'pw' } })).body;
    roomA = await create('A');
    roomB = await create('B');
  });

  async function mint(body: Record<string, unknown>, secret: string | null = SECRET) {
    const res = await fetch(`${live.server.baseUrl}/busapi/v3/tokens`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(secret === null ? {} : { authorization: `Bearer ${secret}` }),
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { token: string; message?: string } };
  }

  async function tokenFor(identity: string, grants: Partial<JoinGrants> = {}, room = roomA.code) {
    const res = await mint({ room, identity, name: identity, grants });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.token;
  }

  async function joinA(token: string): Promise<number> {
    const res = await live.call<Room>('POST', `/rooms/${roomA.id}/join`, { token, body: {} });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.participants.at(-1)!.id;
  }

  /** A socket of `token` in room A, published (P2P) with `sdp`; returns its participant id. */
  async function inRoomA(token: string, sdp = SENDING) {
    const pid = await joinA(token);
    const s = await live.connect(token);
    const ack = await s.emitWithAck('room.publish', publishPayload(roomA.id, pid, sdp));
    assert.equal(ack.error, undefined, JSON.stringify(ack));
    return { s, pid };
  }

  it('minting needs the server secret: none, a wrong one or the client API key get 401', async () => {
    const body = { room: roomA.code, identity: 'jt-x' };
    assert.equal((await mint(body, null)).status, 401);
    assert.equal((await mint(body, `${SECRET}x`)).status, 401);
    assert.equal((await mint(body, API_KEY)).status, 401);
    assert.equal((await mint(body)).status, 201);
    assert.equal((await mint({ ...body, room: roomA.id })).status, 201, 'the room by its id');
    assert.equal((await mint({ ...body, room: 'no-such-room' })).status, 404);
    assert.equal((await mint({ ...body, ttlSeconds: 86_401 })).status, 400, 'at most 24 h');
  });

  it('minting is off (501) without AUTH_IDENTITY_SECRET', async () => {
    const plain = await startTestServer();
    try {
      const res = await fetch(`${plain.baseUrl}/busapi/v3/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer anything' },
        body: JSON.stringify({ room: 'r', identity: 'i' }),
      });
      assert.equal(res.status, 501);
    } finally {
      await plain.close();
    }
  });

  it('a join token joins its room without code or password, as the user of its identity', async () => {
    const token = await tokenFor('jt-carol');
    const joined = await live.call<Room>('POST', `/rooms/${roomA.id}/join`, { token, body: {} });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    const carol = await login(live.call, 'jt-carol');
    assert.equal(joined.body.participants.at(-1)!.userId, carol.id, 'the same user as POST /auth');
    assert.equal((await live.call('GET', `/rooms/${roomA.code}`, { token })).status, 200);
    assert.equal((await live.call('GET', `/chats/${roomA.id}`, { token })).status, 200);
  });

  it('a join token is refused (403) in any other room and on routes of no room', async () => {
    const token = await tokenFor('jt-dave');
    const other = await live.call('POST', `/rooms/${roomB.id}/join`, { token, body: { password: 'pw' } });
    assert.equal(other.status, 403, JSON.stringify(other.body));
    assert.equal((await live.call('GET', `/rooms/${roomB.code}`, { token })).status, 403);
    assert.equal((await live.call('GET', `/chats/${roomB.id}`, { token })).status, 403);
    assert.equal((await live.call('GET', '/rooms', { token })).status, 403);
    assert.equal((await live.call('POST', '/rooms', { token, body: { title: 'mine' } })).status, 403);
    assert.equal((await live.call('GET', '/users', { token })).status, 403);
    const s = await live.connect(token);
    const ack = await s.emitWithAck('room.publish', publishPayload(roomB.id, 1));
    assert.equal(ack.error?.code, 'permission_denied', JSON.stringify(ack));
  });

  it('an expired join token is refused (401) and cannot open a socket', async () => {
    const hourAgo = Date.now() - 3_600_000;
    const grants = {
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      hidden: false,
      roomAdmin: false,
    };
    const token = mintJoinToken({ identity: 'jt-old', room: roomA.code, grants, ttlS: 600 }, SECRET, hourAgo);
    const res = await live.call('POST', `/rooms/${roomA.id}/join`, { token, body: {} });
    assert.equal(res.status, 401);
    await assert.rejects(connectSocket(live.server.baseUrl, token), /Invalid token/);
  });

  it('a join token signed with another secret, or lasting over 24 h, is refused', async () => {
    const grants = {
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      hidden: false,
      roomAdmin: false,
    };
    const forged = mintJoinToken({ identity: 'jt-f', room: roomA.code, grants, ttlS: 600 }, 'x'.repeat(40));
    assert.equal(
      (await live.call('POST', `/rooms/${roomA.id}/join`, { token: forged, body: {} })).status,
      401,
    );
    const long = mintJoinToken({ identity: 'jt-l', room: roomA.code, grants, ttlS: 200_000 }, SECRET);
    assert.equal((await live.call('POST', `/rooms/${roomA.id}/join`, { token: long, body: {} })).status, 401);
  });

  it('canPublish=false refuses a sending offer on room.publish, and accepts a receive-only one', async () => {
    const token = await tokenFor('jt-viewer', { canPublish: false });
    const pid = await joinA(token);
    const s = await live.connect(token);
    const refused = await s.emitWithAck('room.publish', publishPayload(roomA.id, pid, SENDING));
    assert.equal(refused.error?.code, 'permission_denied', JSON.stringify(refused));
    const accepted = await s.emitWithAck('room.publish', publishPayload(roomA.id, pid, RECEIVING));
    assert.equal(accepted.error, undefined, JSON.stringify(accepted));
    const renegotiate = await s.emitWithAck('room.publisher_renegotiation', {
      roomId: String(roomA.id),
      sdp: SENDING,
      connectionType: 0,
    });
    assert.equal(renegotiate.error?.code, 'permission_denied', JSON.stringify(renegotiate));
  });

  it('canSubscribe=false refuses room.subscribe; the default grants allow it', async () => {
    const host = await inRoomA(await tokenFor('jt-speaker'));
    const deaf = await inRoomA(await tokenFor('jt-deaf', { canSubscribe: false }));
    const subscribe = (pid: number) => ({
      roomId: String(roomA.id),
      participantId: String(pid),
      targetId: String(host.pid),
    });
    const refused = await deaf.s.emitWithAck('room.subscribe', subscribe(deaf.pid));
    assert.equal(refused.error?.code, 'permission_denied', JSON.stringify(refused));
    const hearing = await inRoomA(await tokenFor('jt-hearing'));
    const allowed = await hearing.s.emitWithAck('room.subscribe', subscribe(hearing.pid));
    assert.equal(allowed.error, undefined, JSON.stringify(allowed));
    assert.equal(allowed.targetId, String(host.pid));
  });

  it('hidden participants are not announced, nor listed as publishing in the join view', async () => {
    const watcher = await inRoomA(await tokenFor('jt-watcher'));
    const seen = recordEvents(watcher.s);
    const ghost = await inRoomA(await tokenFor('jt-ghost', { hidden: true }));
    const visibleSeen = nextEvent<{ participant: { id: number } }>(watcher.s, 'room.new_participant');
    const visible = await inRoomA(await tokenFor('jt-visible'));
    assert.equal((await visibleSeen).participant.id, visible.pid);
    const announced = seen
      .filter((e) => e.event === 'room.new_participant')
      .map((e) => (e.payload as { participant: { id: number } }).participant.id);
    assert.ok(!announced.includes(ghost.pid), `the hidden participant was announced: ${announced}`);
    const view = await live.call<Room>('POST', `/rooms/${roomA.id}/join`, { token: alice.token, body: {} });
    assert.ok(!view.body.participants.some((p) => p.id === ghost.pid), 'not in the join view');
    const leftSeen = nextEvent<{ targetId: string }>(watcher.s, 'room.participant_left');
    ghost.s.close();
    visible.s.close();
    assert.equal((await leftSeen).targetId, String(visible.pid), 'only the visible one leaves aloud');
  });

  it('hidden participants are left out of GET /rooms/{code}, the room list and the join answer of others, and shown to themselves', async () => {
    const ghostToken = await tokenFor('jt-ghost-views', { hidden: true });
    const ghost = await inRoomA(ghostToken);
    const ids = (room: Room) => room.participants.map((p) => p.id);
    const byCode = await live.call<Room>('GET', `/rooms/${roomA.code}`, { token: alice.token });
    assert.equal(byCode.status, 200);
    assert.ok(!ids(byCode.body).includes(ghost.pid), `GET /rooms/{code} lists it: ${ids(byCode.body)}`);
    const list = await live.call<{ rooms: Room[] }>('GET', '/rooms', { token: alice.token });
    const listed = list.body.rooms.find((r) => r.id === roomA.id);
    assert.ok(listed, JSON.stringify(list.body));
    assert.ok(!ids(listed).includes(ghost.pid), `the room list lists it: ${ids(listed)}`);
    const joined = await live.call<Room>('POST', `/rooms/${roomA.id}/join`, { token: alice.token, body: {} });
    assert.ok(!ids(joined.body).includes(ghost.pid), 'the join answer lists it');
    const own = await live.call<Room>('GET', `/rooms/${roomA.code}`, { token: ghostToken });
    assert.ok(ids(own.body).includes(ghost.pid), 'the hidden participant sees itself');
  });

  it('roomAdmin may change the room and remove members like its host; other tokens may not', async () => {
    const bob = await login(live.call, 'jt-bob');
    const added = await live.call('POST', `/rooms/${roomA.id}/members`, {
      token: alice.token,
      body: { userId: bob.id },
    });
    assert.equal(added.status, 201);
    const plain = await tokenFor('jt-plain');
    assert.equal(
      (await live.call('PUT', `/rooms/${roomA.id}`, { token: plain, body: { title: 'X' } })).status,
      403,
    );
    const removeBob = { body: { userId: bob.id } };
    assert.equal(
      (await live.call('DELETE', `/rooms/${roomA.id}/members`, { token: plain, ...removeBob })).status,
      403,
    );
    const admin = await tokenFor('jt-admin', { roomAdmin: true });
    const renamed = await live.call<{ title: string }>('PUT', `/rooms/${roomA.id}`, {
      token: admin,
      body: { title: 'Renamed' },
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.title, 'Renamed');
    const removed = await live.call('DELETE', `/rooms/${roomA.id}/members`, { token: admin, ...removeBob });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    const adminOfA = await tokenFor('jt-admin', { roomAdmin: true });
    assert.equal(
      (await live.call('PUT', `/rooms/${roomB.id}`, { token: adminOfA, body: { title: 'Nope' } })).status,
      403,
      'roomAdmin of A is nothing in B',
    );
  });

  it('Waterbus login keeps working unchanged beside join tokens', async () => {
    const erin = await login(live.call, 'jt-erin');
    assert.equal((await live.call('GET', '/users', { token: erin.token })).status, 200);
    assert.equal((await live.call('GET', `/rooms/${roomA.code}`, { token: erin.token })).status, 200);
    const s = await live.connect(erin.token);
    assert.ok(s.connected);
  });

  it('token minting is rate limited per IP (TOKEN_MINT_PER_MINUTE), 429 with Retry-After', async () => {
    const limited = await startTestServer({ AUTH_IDENTITY_SECRET: SECRET, TOKEN_MINT_PER_MINUTE: '2' });
    try {
      const statuses: number[] = [];
      let retryAfter = '';
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${limited.baseUrl}/busapi/v3/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer wrong-${i}` },
          body: JSON.stringify({ room: 'r', identity: 'i' }),
        });
        statuses.push(res.status);
        retryAfter = res.headers.get('retry-after') ?? '';
      }
      assert.deepEqual(statuses, [401, 401, 429, 429], 'wrong secrets count too');
      assert.ok(Number(retryAfter) >= 1, `Retry-After ${retryAfter}`);
    } finally {
      await limited.close();
    }
  });

  it('bbmeet token mints offline a token the server accepts, with its grants; --help describes it', async () => {
    const run = async (args: string[], env: Record<string, string>) => {
      const child = spawn(process.execPath, [BIN, 'token', ...args], {
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
    };
    const minted = await run(['--room', roomA.code, '--identity', 'jt-cli', '--no-subscribe'], {
      AUTH_IDENTITY_SECRET: SECRET,
    });
    assert.equal(minted.code, 0, minted.err);
    const cli = await inRoomA(minted.out.trim(), RECEIVING);
    const refused = await cli.s.emitWithAck('room.subscribe', {
      roomId: String(roomA.id),
      participantId: String(cli.pid),
      targetId: String(cli.pid),
    });
    assert.equal(refused.error?.code, 'permission_denied', '--no-subscribe is in the token');
    const noSecret = await run(['--room', roomA.code, '--identity', 'x'], {});
    assert.equal(noSecret.code, 1);
    assert.match(noSecret.err, /AUTH_IDENTITY_SECRET/);
    const help = await run(['--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.out, /--room-admin/);
  });
});
