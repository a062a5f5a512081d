import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { SfuError } from '../../src/lib/errors.ts';
import { mintJoinToken } from '../../src/lib/join-token.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import type { IceCandidate, SfuApi, SfuEvent } from '../../src/protocol/sfu-api.ts';
import { startSignallingServer } from '../../src/roles/embedded.ts';
import { unavailableSfu } from '../../src/sfu/index.ts';
import { login, nextEvent, type TestUser } from '../support/clients.ts';
import { pushedEvents } from '../support/pushed-events.ts';
import { asTestServer, testServerConfig } from '../support/server.ts';
import { useServerWithClients } from '../support/server-clients.ts';

/**
 * WHIP ingest (RFC 9725) over the real HTTP server and signalling, in process, with a scripted
 * SfuApi standing in for the media engine: status codes, headers, the participant's life in the
 * room, and refusals that change nothing.
 */

const IDENTITY_SECRET = 'whip-test-identity-secret-0123456789';
const TURN_SECRET = 'whip-test-turn-secret';

function offer(options: { ufrag?: string; video?: string } = {}): string {
  const ufrag = options.ufrag ?? 'cliU';
  return [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=mid:0',
    `a=ice-ufrag:${ufrag}`,
    'a=ice-pwd:clientPasswordClientPassword',
    'a=sendonly',
    `m=video 9 UDP/TLS/RTP/SAVPF ${options.video ?? '96'}`,
    'a=mid:1',
    `a=ice-ufrag:${ufrag}`,
    'a=ice-pwd:clientPasswordClientPassword',
    'a=sendonly',
    '',
  ].join('\r\n');
}

function answer(ufrag: string, videoAccepted = true): string {
  return [
    'v=0',
    'o=- 3 4 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=ice-lite',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=mid:0',
    `a=ice-ufrag:${ufrag}`,
    'a=ice-pwd:serverPasswordServerPassword',
    'a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host',
    'a=end-of-candidates',
    videoAccepted ? 'a=recvonly' : 'a=inactive',
    `m=video ${videoAccepted ? 9 : 0} UDP/TLS/RTP/SAVPF 96`,
    'a=mid:1',
    videoAccepted ? 'a=recvonly' : 'a=inactive',
    '',
  ].join('\r\n');
}

/** What the test's SfuApi was asked, and the room events it pushes. */
interface ScriptedSfu extends SfuApi {
  joins: string[];
  leaves: string[];
  candidates: IceCandidate[];
  push(roomId: string, event: SfuEvent): void;
}

function scriptedSfu(): ScriptedSfu {
  let restarts = 0;
  const sfu: ScriptedSfu = {
    ...unavailableSfu(),
    ...pushedEvents(),
    joins: [],
    leaves: [],
    candidates: [],
    async join(req) {
      if (req.sdp.includes('a=broken')) throw new SfuError('invalid_argument', 'invalid SDP: broken');
      sfu.joins.push(req.participantId);
      // An H.265-only offer: the SFU rejects the video section (and here the audio too).
      const onlyH265 = req.sdp.includes('m=video 9 UDP/TLS/RTP/SAVPF 49');
      const sdp = onlyH265 ? answer('srvU', false) : answer('srvU');
      return { sdp, isRecording: false };
    },
    async leave(req) {
      sfu.leaves.push(req.participantId);
    },
    async addPublisherCandidate(req) {
      sfu.candidates.push(req.candidate);
    },
    async renegotiatePublisher() {
      restarts += 1;
      return { sdp: answer(`srvU${restarts}`) };
    },
    async listEgress() {
      return [];
    },
  };
  return sfu;
}

interface WhipReply {
  status: number;
  text: string;
  headers: Headers;
}

describe('WHIP ingest routes (RFC 9725)', () => {
  const sfu = scriptedSfu();
  const live = useServerWithClients(async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-whip-'));
    const config = testServerConfig({
      dataDir,
      udpPort: 0,
      media: false,
      env: {
        AUTH_IDENTITY_SECRET: IDENTITY_SECRET,
        STUN_URLS: 'stun:stun.example.net:3478',
        TURN_URLS: 'turn:turn.example.net:3478?transport=udp',
        TURN_SECRET,
      },
    });
    const running = await startSignallingServer(config, silentLogger(), {
      sfu,
      nodeId: 'node-whip',
      defaultMetrics: false,
    });
    return asTestServer(running, dataDir, 0);
  });
  let alice: TestUser;
  let bob: TestUser;
  let mallory: TestUser;
  let room: { id: number; code: string };
  let bobSocket: Socket;

  async function whip(
    method: string,
    url: string,
    o: { token?: string; body?: string; type?: string; headers?: Record<string, string> } = {},
  ): Promise<WhipReply> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    if (o.type !== undefined) headers['content-type'] = o.type;
    const res = await fetch(live.server.baseUrl + url, { method, headers, body: o.body });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  const post = (token: string | undefined, body = offer(), type = 'application/sdp', roomId = room.id) =>
    whip('POST', `/whip/rooms/${roomId}`, { ...(token === undefined ? {} : { token }), body, type });

  async function metric(outcome: string, reason: string): Promise<number> {
    const text = await (await fetch(`${live.server.baseUrl}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`bbmeet_whip_sessions_total{outcome="${outcome}",reason="${reason}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  async function participantIds(): Promise<number[]> {
    const res = await live.call<{ participants: Array<{ id: number }> }>('GET', `/rooms/${room.code}`, {
      token: alice.token,
    });
    return res.body.participants.map((p) => p.id);
  }

  before(async () => {
    alice = await login(live.call, 'whip-alice');
    bob = await login(live.call, 'whip-bob');
    mallory = await login(live.call, 'whip-mallory');
    const created = await live.call<{ id: number; code: string }>('POST', '/rooms', {
      token: alice.token,
      body: { title: 'Broadcast' },
    });
    room = created.body;
    // Bob watches the room from a socket (a P2P participant: no media needed).
    await live.call('GET', `/rooms/${room.code}`, { token: bob.token });
    const joined = await live.call<{ participants: Array<{ id: number; userId: number }> }>(
      'POST',
      `/rooms/${room.id}/join`,
      { token: bob.token, body: {} },
    );
    const bobPid = joined.body.participants.find((p) => p.userId === bob.id)!.id;
    bobSocket = await live.connect(bob.token);
    const ack = await bobSocket.emitWithAck('room.reconnect', {
      roomId: String(room.id),
      participantId: String(bobPid),
    });
    assert.deepEqual(ack, { restored: true });
  });

  it('POST answers 201 with the SDP answer, Location, ETag, Accept-Patch and ice-server Links', async () => {
    const res = await post(alice.token);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.get('content-type'), 'application/sdp');
    assert.equal(res.text, answer('srvU'));
    assert.match(res.headers.get('location') ?? '', new RegExp(`^/whip/rooms/${room.id}/sessions/[\\w-]+$`));
    assert.match(res.headers.get('etag') ?? '', /^"[^"]+"$/);
    assert.equal(res.headers.get('accept-patch'), 'application/trickle-ice-sdpfrag');
    const links = res.headers.get('link') ?? '';
    assert.match(links, /<stun:stun\.example\.net:3478>; rel="ice-server"/);
    assert.match(
      links,
      /<turn:turn\.example\.net:3478\?transport=udp>; rel="ice-server"; username="\d+:\d+"; credential="[^"]+"; credential-type="password"/,
    );
    await whip('DELETE', res.headers.get('location')!, { token: alice.token });
  });

  it('the WHIP participant is announced once its tracks arrive, listed in the room, and leaves on DELETE', async () => {
    const started = await metric('started', 'published');
    const ended = await metric('ended', 'deleted');
    const res = await post(alice.token);
    assert.equal(res.status, 201, res.text);
    const pid = sfu.joins.at(-1)!;
    const announced = nextEvent<{ participant: { id: number } }>(bobSocket, 'room.new_participant');
    sfu.push(String(room.id), {
      type: 'publisherReady',
      participantId: pid as never,
      nodeId: 'n1',
      isMigrate: false,
    });
    assert.equal((await announced).participant.id, Number(pid));
    assert.ok((await participantIds()).includes(Number(pid)));

    const left = nextEvent<{ targetId: string }>(bobSocket, 'room.participant_left');
    const location = res.headers.get('location')!;
    const deleted = await whip('DELETE', location, { token: alice.token });
    assert.equal(deleted.status, 200);
    assert.equal((await left).targetId, pid);
    assert.ok(sfu.leaves.includes(pid));
    assert.ok(!(await participantIds()).includes(Number(pid)));
    assert.equal((await whip('DELETE', location, { token: alice.token })).status, 404);
    assert.equal(await metric('started', 'published'), started + 1);
    assert.equal(await metric('ended', 'deleted'), ended + 1);
  });

  it('PATCH trickles candidates (204), refuses a stale ETag (412) and restarts ICE (200, new ETag)', async () => {
    const res = await post(alice.token);
    const location = res.headers.get('location')!;
    const etag = res.headers.get('etag')!;
    const candidate = 'candidate:1 1 udp 2122260223 192.0.2.7 54400 typ host';
    const trickle = `a=ice-ufrag:cliU\r\na=ice-pwd:clientPasswordClientPassword\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=${candidate}\r\n`;
    const type = 'application/trickle-ice-sdpfrag';
    const ok = await whip('PATCH', location, {
      token: alice.token,
      type,
      body: trickle,
      headers: { 'if-match': etag },
    });
    assert.equal(ok.status, 204, ok.text);
    assert.deepEqual(sfu.candidates.at(-1), { candidate, sdpMid: '0', sdpMLineIndex: 0 });
    const stale = await whip('PATCH', location, {
      token: alice.token,
      type,
      body: trickle,
      headers: { 'if-match': '"not-the-etag"' },
    });
    assert.equal(stale.status, 412);

    const restartBody = 'a=ice-ufrag:newU\r\na=ice-pwd:newPasswordNewPassword\r\n';
    const restarted = await whip('PATCH', location, {
      token: alice.token,
      type,
      body: restartBody,
      headers: { 'if-match': '*' },
    });
    assert.equal(restarted.status, 200, restarted.text);
    assert.equal(restarted.headers.get('content-type'), type);
    assert.match(restarted.text, /^a=ice-lite\r\na=ice-ufrag:srvU\d+\r\na=ice-pwd:/);
    assert.match(restarted.text, /a=candidate:1 1 udp 2130706431 127\.0\.0\.1 40000 typ host/);
    const newEtag = restarted.headers.get('etag');
    assert.ok(newEtag && newEtag !== etag);
    const old = await whip('PATCH', location, {
      token: alice.token,
      type,
      body: trickle,
      headers: { 'if-match': etag },
    });
    assert.equal(old.status, 412);

    assert.equal(
      (await whip('PATCH', location, { token: mallory.token, type, body: restartBody })).status,
      404,
    );
    assert.equal((await whip('DELETE', location, { token: mallory.token })).status, 404);
    const unknown = `/whip/rooms/${room.id}/sessions/no-such-session`;
    assert.equal((await whip('PATCH', unknown, { token: alice.token, type, body: trickle })).status, 404);
    assert.equal(
      (await whip('PATCH', location, { token: alice.token, type: 'text/plain', body: trickle })).status,
      415,
    );
    assert.equal((await whip('PATCH', location, { token: alice.token, type, body: 'hello' })).status, 400);
    assert.equal((await whip('DELETE', location, { token: alice.token })).status, 200);
  });

  it('media lost (consent timeout) ends the session: the room is told, the row goes inactive', async () => {
    const res = await post(alice.token);
    const pid = sfu.joins.at(-1)!;
    const lost = await metric('ended', 'media_lost');
    const left = nextEvent<{ targetId: string }>(bobSocket, 'room.participant_left');
    sfu.push(String(room.id), {
      type: 'participantLost',
      participantId: pid as never,
      reason: 'consent_timeout',
    });
    assert.equal((await left).targetId, pid);
    const view = await live.call<{ participants: Array<{ id: number; status: number }> }>(
      'GET',
      `/rooms/${room.code}`,
      {
        token: alice.token,
      },
    );
    assert.equal(view.body.participants.find((p) => p.id === Number(pid))?.status, 1, 'inactive');
    assert.equal((await whip('DELETE', res.headers.get('location')!, { token: alice.token })).status, 404);
    assert.equal(await metric('ended', 'media_lost'), lost + 1);
  });

  it('a join token with canPublish publishes; one without it, or for another room, is refused', async () => {
    const mint = (grants: Record<string, boolean>, code = room.code) =>
      mintJoinToken(
        {
          identity: 'obs-studio',
          room: code,
          grants: {
            canPublish: true,
            canSubscribe: true,
            canPublishData: true,
            hidden: false,
            roomAdmin: false,
            ...grants,
          },
          ttlS: 600,
        },
        IDENTITY_SECRET,
      );
    const res = await post(mint({}));
    assert.equal(res.status, 201, res.text);
    assert.equal((await whip('DELETE', res.headers.get('location')!, { token: mint({}) })).status, 200);
    assert.equal((await post(mint({ canPublish: false }))).status, 403);
    const other = await live.call<{ id: number; code: string }>('POST', '/rooms', {
      token: alice.token,
      body: { title: 'Other' },
    });
    assert.equal((await post(mint({}, other.body.code))).status, 403);
  });

  it('OPTIONS tells what the endpoint and the resource accept', async () => {
    const endpoint = await whip('OPTIONS', `/whip/rooms/${room.id}`);
    assert.equal(endpoint.status, 204);
    assert.equal(endpoint.headers.get('accept-post'), 'application/sdp');
    const resource = await whip('OPTIONS', `/whip/rooms/${room.id}/sessions/any`);
    assert.equal(resource.headers.get('accept-patch'), 'application/trickle-ice-sdpfrag');
  });

  it('bad input is refused with a clear status and reason, counted, and stores nothing', async () => {
    const before = await participantIds();
    const refused = await metric('refused', 'unauthenticated');
    const cases: Array<[string, Promise<WhipReply>, number]> = [
      ['no token', post(undefined), 401],
      ['wrong token', post('not-a-token'), 401],
      ['not allowed in the room', post(mallory.token), 403],
      ['wrong content type', post(alice.token, offer(), 'application/json'), 415],
      ['text/plain', post(alice.token, offer(), 'text/plain'), 415],
      ['not SDP', post(alice.token, 'hello'), 400],
      ['no audio or video', post(alice.token, 'v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n'), 400],
      ['malformed for the SFU', post(alice.token, `${offer()}a=broken\r\n`), 400],
      [
        'no codec the SFU forwards',
        post(alice.token, offer({ video: '49' }).replace('m=audio 9', 'm=audio 0')),
        422,
      ],
      ['unknown room', post(alice.token, offer(), 'application/sdp', 999_999), 404],
      ['too large', post(alice.token, `${offer()}${'a=x\r\n'.repeat(20_000)}`), 413],
    ];
    for (const [name, reply, status] of cases) {
      const res = await reply;
      assert.equal(res.status, status, `${name}: ${res.status} ${res.text}`);
      assert.ok(res.text.length > 0, `${name}: a reason is given`);
    }
    assert.deepEqual(await participantIds(), before);
    assert.equal(await metric('refused', 'unauthenticated'), refused + 2);
    assert.equal(await metric('refused', 'unprocessable_offer'), 1);
  });
});
