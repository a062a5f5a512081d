import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { WhepSfu } from '../../src/api/whep/whep-sessions.ts';
import { SfuError } from '../../src/lib/errors.ts';
import { ParticipantId, type RoomId, UserId } from '../../src/lib/ids.ts';
import { DEFAULT_GRANTS, mintJoinToken } from '../../src/lib/join-token.ts';
import { Metrics } from '../../src/lib/metrics.ts';
import type { SfuEvent, SubscribeRequest } from '../../src/protocol/sfu-api.ts';
import { type Api, forgeToken, login, type Session, startApi } from './harness.ts';

const IDENTITY_SECRET = 'rest-whep-identity-secret-0123456789abcdef';
const TURN_SECRET = 'rest-whep-turn-secret-0123456789';
const OFFER = readFileSync(
  new URL('../fixtures/sdp/whep-chromium-recvonly.sdp', import.meta.url),
  'utf8',
).replace(/\r?\n/g, '\r\n');
const ANSWER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
/** The SFU's answer to an ICE restart, with new credentials `server<n>`. */
const restartAnswer = (n: number) =>
  `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:server${n}\r\na=ice-pwd:server-password-${n}-0123456789\r\na=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\na=end-of-candidates\r\n`;

/** The SFU side of the routes: records calls, answers or fails as told, and emits room events. */
class FakeSfu implements WhepSfu {
  subscribes: SubscribeRequest[] = [];
  leaves: Array<{ roomId: RoomId; participantId: ParticipantId }> = [];
  failWith: Error | undefined;
  /** Targets the SFU has no media of (not_found). */
  gone = new Set<string>();
  readonly #listeners = new Set<(roomId: RoomId, event: SfuEvent) => void>();

  async subscribe(req: SubscribeRequest) {
    this.subscribes.push(req);
    if (this.failWith) throw this.failWith;
    if (this.gone.has(req.iceRestart ? req.participantId : req.targetId))
      throw new SfuError('not_found', `participant ${req.targetId} publishes nothing`);
    const restarts = this.subscribes.filter((r) => r.iceRestart).length;
    return { offer: '', answer: req.iceRestart ? restartAnswer(restarts) : ANSWER, videoCodec: 'video/VP8' };
  }

  async leave(req: { roomId: RoomId; participantId: ParticipantId }) {
    this.leaves.push(req);
  }

  emit(roomId: RoomId, event: SfuEvent): void {
    for (const listener of this.#listeners) listener(roomId, event);
  }

  get listening(): number {
    return this.#listeners.size;
  }

  async *events(roomId: RoomId, signal: AbortSignal): AsyncIterable<SfuEvent> {
    const queue: SfuEvent[] = [];
    let wake: (() => void) | undefined;
    const listener = (room: RoomId, event: SfuEvent) => {
      if (room !== roomId) return;
      queue.push(event);
      wake?.();
    };
    this.#listeners.add(listener);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        const event = queue.shift();
        if (event) yield event;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#listeners.delete(listener);
    }
  }
}

describe('WHEP routes (POST /whep/rooms/:roomId/participants/:participantId, PATCH, DELETE)', () => {
  let api: Api;
  const sfu = new FakeSfu();
  const metrics = new Metrics({ defaultMetrics: false });
  let host: Session;
  let roomId: number;
  let roomCode: string;
  let participantId: number;

  before(async () => {
    api = await startApi({
      identitySecret: IDENTITY_SECRET,
      ice: {
        stunUrls: ['stun:stun.example.com:3478'],
        turn: { urls: ['turn:turn.example.com:3478'], secret: TURN_SECRET, ttlS: 600 },
      },
      whep: { sfu, metrics },
    });
    host = await login(api, 'whep-host');
    const room = await api.call('POST', '/rooms', { token: host.token, body: { title: 'Whep' } });
    assert.equal(room.status, 201);
    roomId = room.body.id;
    roomCode = room.body.code;
    participantId = (await api.store.participants.create({ roomId, userId: UserId(host.id) })).id;
  });
  after(async () => api?.close());

  const post = (token: string | undefined, options: { body?: string; type?: string; path?: string } = {}) =>
    fetch(`${api.baseUrl}${options.path ?? `/whep/rooms/${roomId}/participants/${participantId}`}`, {
      method: 'POST',
      headers: {
        'content-type': options.type ?? 'application/sdp',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: options.body ?? OFFER,
    });
  const patch = (location: string, headers: Record<string, string>, body: string) =>
    fetch(`${api.baseUrl}${location}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...headers },
      body,
    });
  const del = (location: string) => fetch(`${api.baseUrl}${location}`, { method: 'DELETE' });
  const counter = async (outcome: string, reason: string) => {
    const metric = await metrics.whepSessions.get();
    return metric.values.find((v) => v.labels.outcome === outcome && v.labels.reason === reason)?.value ?? 0;
  };

  it('POST answers 201 with the SDP answer, Location, ETag and ice-server Links; the viewer subscribes with the offer', async () => {
    sfu.subscribes = [];
    const res = await post(host.token);
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'application/sdp');
    assert.equal(await res.text(), ANSWER);
    assert.match(res.headers.get('location') ?? '', /^\/whep\/sessions\/[A-Za-z0-9_-]{22}$/);
    assert.match(res.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]{8}-0"$/);
    assert.equal(res.headers.get('accept-patch'), 'application/trickle-ice-sdpfrag');
    const link = res.headers.get('link') ?? '';
    assert.match(link, /<stun:stun.example.com:3478>; rel="ice-server"/);
    assert.match(
      link,
      new RegExp(
        `<turn:turn.example.com:3478>; rel="ice-server"; username="\\d+:${host.id}"; credential="[^"]+"; credential-type="password"`,
      ),
    );
    const [req] = sfu.subscribes;
    assert.equal(req?.roomId, String(roomId));
    assert.equal(req?.targetId, String(participantId));
    assert.equal(req?.offer, OFFER);
    assert.equal(req?.canPublishData, false);
    assert.match(req!.participantId, /^whep-/, 'the viewer is not a room participant');
    const location = res.headers.get('location')!;
    assert.equal((await del(location)).status, 200);
  });

  const CANDIDATE =
    'a=ice-ufrag:Wq3e\r\na=ice-pwd:FzPzAb1aOBP0fdbZ6ZqqPRB1\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n';
  /** The fragment with the player's new credentials `ufrag`. */
  const credentials = (ufrag: string) =>
    CANDIDATE.replace('Wq3e', ufrag).replace('FzPzAb1aOBP0fdbZ6ZqqPRB1', `${ufrag}-new-password-0123456789`);

  it('PATCH: trickled candidates 204, a stale If-Match 412, a malformed fragment 400, another type 415; unknown 404', async () => {
    const res = await post(host.token);
    const location = res.headers.get('location')!;
    const etag = res.headers.get('etag')!;
    assert.equal((await patch(location, {}, CANDIDATE)).status, 204);
    assert.equal((await patch(location, { 'if-match': etag }, CANDIDATE)).status, 204);
    assert.equal((await patch(location, {}, 'a=end-of-candidates\r\n')).status, 204);
    assert.equal((await patch(location, { 'if-match': '"0000"' }, CANDIDATE)).status, 412);
    assert.equal((await patch(location, { 'if-match': '"0000"' }, credentials('New1'))).status, 412);
    const malformed = await patch(
      location,
      {},
      'a=ice-ufrag:only-a-ufrag\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\n',
    );
    assert.equal(malformed.status, 400);
    assert.match(((await malformed.json()) as { message: string }).message, /not an ICE fragment/);
    assert.equal((await patch(location, { 'content-type': 'application/sdp' }, CANDIDATE)).status, 415);
    assert.equal((await patch('/whep/sessions/AAAAAAAAAAAAAAAAAAAAAA', {}, CANDIDATE)).status, 404);
    assert.equal(sfu.subscribes.filter((r) => r.iceRestart).length, 0, 'no PATCH above restarted ICE');
    assert.equal((await del(location)).status, 200);
  });

  it("PATCH with new credentials restarts ICE: 200 with the SFU's new ones and a new ETag; the older ETag is then 412", async () => {
    sfu.subscribes = [];
    const res = await post(host.token);
    const location = res.headers.get('location')!;
    const first = res.headers.get('etag')!;
    const viewerId = sfu.subscribes[0]!.participantId;

    const restarted = await patch(location, { 'if-match': '*' }, credentials('New1'));
    assert.equal(restarted.status, 200, await restarted.clone().text());
    assert.equal(restarted.headers.get('content-type'), 'application/trickle-ice-sdpfrag');
    const second = restarted.headers.get('etag')!;
    assert.match(second, /^"[A-Za-z0-9_-]{8}-1"$/);
    assert.notEqual(second, first);
    const fragment = await restarted.text();
    assert.match(
      fragment,
      /^a=ice-lite\r\na=ice-ufrag:server1\r\na=ice-pwd:server-password-1-0123456789\r\n/,
    );
    assert.match(fragment, /\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127\.0\.0\.1 40000 typ host\r\n/);
    // The viewer's connection restarts with the player's first offer and its new credentials.
    const req = sfu.subscribes.at(-1)!;
    assert.equal(req.iceRestart, true);
    assert.equal(req.participantId, viewerId);
    assert.match(req.offer!, /^a=ice-ufrag:New1\r$/m);
    assert.match(req.offer!, /^a=ice-pwd:New1-new-password-0123456789\r$/m);
    assert.doesNotMatch(req.offer!, /Wq3e|FzPzAb1aOBP0fdbZ6ZqqPRB1/);
    assert.equal(req.offer!.split('\r\n').length, OFFER.split('\r\n').length, 'all else as negotiated');

    // Trickle of the new ICE session: 204, with its ETag or none; the first ETag is stale.
    assert.equal((await patch(location, { 'if-match': second }, credentials('New1'))).status, 204);
    assert.equal((await patch(location, {}, credentials('New1'))).status, 204);
    assert.equal((await patch(location, { 'if-match': first }, credentials('New1'))).status, 412);
    assert.equal((await patch(location, { 'if-match': first }, credentials('New2'))).status, 412);
    // A second restart, naming the current ICE session by its ETag.
    const again = await patch(location, { 'if-match': second }, credentials('New2'));
    assert.equal(again.status, 200);
    assert.match(again.headers.get('etag')!, /-2"$/);
    assert.match(await again.text(), /a=ice-ufrag:server2\r\n/);
    assert.equal(sfu.subscribes.filter((r) => r.iceRestart).length, 2);
    assert.equal((await del(location)).status, 200);
  });

  it('an ICE restart of a viewer the SFU no longer has: 404, and the session ends', async () => {
    const res = await post(host.token);
    const location = res.headers.get('location')!;
    const viewerId = sfu.subscribes.at(-1)!.participantId;
    sfu.gone.add(viewerId);
    sfu.leaves = [];
    try {
      assert.equal((await patch(location, {}, credentials('Gone1'))).status, 404);
    } finally {
      sfu.gone.delete(viewerId);
    }
    assert.deepEqual(sfu.leaves, [{ roomId: String(roomId), participantId: viewerId }]);
    assert.equal((await del(location)).status, 404);
  });

  it('DELETE ends the session and the viewer leaves the SFU; the resource is then 404', async () => {
    const res = await post(host.token);
    const location = res.headers.get('location')!;
    const viewerId = sfu.subscribes.at(-1)!.participantId;
    const ended = await counter('ended', 'deleted');
    sfu.leaves = [];
    assert.equal((await del(location)).status, 200);
    assert.deepEqual(sfu.leaves, [{ roomId: String(roomId), participantId: viewerId }]);
    assert.equal(await counter('ended', 'deleted'), ended + 1);
    assert.equal((await del(location)).status, 404);
    assert.equal((await patch(location, {}, 'a=end-of-candidates\r\n')).status, 404);
    assert.equal((await del('/whep/sessions/not-a-session')).status, 400);
  });

  it("the SFU's viewerEnded (connection lost, target left) ends the session; the room's pump stops with it", async () => {
    const res = await post(host.token);
    const location = res.headers.get('location')!;
    const viewerId = ParticipantId(sfu.subscribes.at(-1)!.participantId);
    assert.equal(sfu.listening, 1);
    const ended = await counter('ended', 'target_left');
    sfu.emit(String(roomId) as RoomId, {
      type: 'viewerEnded',
      participantId: viewerId,
      targetId: ParticipantId(participantId),
      reason: 'target_left',
    });
    for (let i = 0; i < 100 && api.whep!.size > 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(api.whep!.size, 0);
    assert.equal(await counter('ended', 'target_left'), ended + 1);
    assert.equal((await del(location)).status, 404);
    assert.equal(sfu.listening, 0, 'no pump left');
  });

  it("the target's participantLost (its SFU node died, in a cluster) ends the sessions watching it", async () => {
    const first = await post(host.token);
    const second = await post(host.token);
    assert.equal(api.whep!.size, 2);
    const ended = await counter('ended', 'unavailable');
    sfu.emit(String(roomId) as RoomId, {
      type: 'participantLost',
      participantId: ParticipantId(participantId),
      reason: 'node_lost',
    });
    for (let i = 0; i < 100 && api.whep!.size > 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(api.whep!.size, 0);
    assert.equal(await counter('ended', 'unavailable'), ended + 2);
    for (const res of [first, second]) assert.equal((await del(res.headers.get('location')!)).status, 404);
  });

  it("POST /whep/rooms/:roomId follows the room's active speaker, starting at a publisher the SFU has media of", async () => {
    const path = `/whep/rooms/${roomId}`;
    const none = await post(host.token, { path });
    assert.deepEqual([none.status, (await none.json()).message], [404, 'Nobody publishes in this room']);
    const other = await login(api, 'whep-other-publisher');
    const second = await api.store.participants.create({ roomId, userId: UserId(other.id) });
    await api.store.participants.setNode(participantId, 'node-a');
    await api.store.participants.setNode(second.id, 'node-a');
    sfu.gone.add(String(participantId));
    sfu.subscribes = [];
    const res = await post(host.token, { path });
    assert.equal(res.status, 201, await res.clone().text());
    assert.deepEqual(
      sfu.subscribes.map((r) => [r.targetId, r.followActiveSpeaker]),
      [
        [String(participantId), true],
        [String(second.id), true],
      ],
      'the first publisher has no media: the next one',
    );
    assert.equal(await res.text(), ANSWER);
    assert.equal((await del(res.headers.get('location')!)).status, 200);
    sfu.gone.clear();
    assert.equal((await post(host.token, { path: `/whep/rooms/999999` })).status, 404);
    await api.store.participants.setNode(participantId, null);
    await api.store.participants.delete(second.id);
  });

  it('a join token with the subscribe grant may watch; without it, or for another room, 403', async () => {
    const token = (grants: Partial<typeof DEFAULT_GRANTS>, room = roomCode) =>
      mintJoinToken(
        { identity: 'whep-guest', room, grants: { ...DEFAULT_GRANTS, ...grants }, ttlS: 600 },
        IDENTITY_SECRET,
      );
    const ok = await post(token({ canPublish: false }));
    assert.equal(ok.status, 201);
    assert.equal((await del(ok.headers.get('location')!)).status, 200);
    const noSubscribe = await post(token({ canSubscribe: false }));
    assert.deepEqual(
      [noSubscribe.status, (await noSubscribe.json()).message],
      [403, 'This token may not subscribe'],
    );
    const other = await api.call('POST', '/rooms', { token: host.token, body: { title: 'Other' } });
    assert.equal((await post(token({}, other.body.code))).status, 403);
  });

  it('refusals: 401 bad or expired token, 403 user not allowed, 404 unknown room or participant, 415, 400/422 offers', async () => {
    const refused = await counter('refused', 'unauthenticated');
    assert.equal((await post(undefined)).status, 401);
    assert.equal((await post('not-a-token')).status, 401);
    assert.equal(
      (await post(forgeToken({ id: String(host.id), exp: Math.floor(Date.now() / 1000) - 60 }))).status,
      401,
    );
    assert.equal(await counter('refused', 'unauthenticated'), refused + 3);
    const stranger = await login(api, 'whep-stranger');
    assert.equal((await post(stranger.token)).status, 403, 'neither member, participant nor code holder');
    assert.equal(
      (await post(host.token, { path: `/whep/rooms/999999/participants/${participantId}` })).status,
      404,
    );
    assert.equal((await post(host.token, { path: `/whep/rooms/${roomId}/participants/999999` })).status, 404);
    assert.equal((await post(host.token, { path: `/whep/rooms/abc/participants/1` })).status, 400);
    assert.equal((await post(host.token, { type: 'application/json', body: '{}' })).status, 415);
    assert.equal(await counter('refused', 'unsupported_media_type'), 1);
    assert.equal((await post(host.token, { body: ' ' })).status, 400);
    const tooLarge = await post(host.token, { body: `${OFFER}${'a=x\r\n'.repeat(30_000)}` });
    assert.equal(tooLarge.status, 413);
    for (const [error, status] of [
      [new SfuError('not_found', 'participant 7 publishes nothing in room 1'), 404],
      [new SfuError('invalid_argument', 'the offer has no recvonly audio or video section'), 400],
      [new SfuError('unsupported', 'the offer has no codec of the published tracks (video/H264)'), 422],
      [new SfuError('unavailable', 'media workers stopped'), 503],
    ] as const) {
      sfu.failWith = error;
      sfu.leaves = [];
      const res = await post(host.token);
      assert.deepEqual([res.status, (await res.json()).message], [status, error.message]);
      assert.equal(sfu.leaves.length, 1, 'whatever the SFU placed for the viewer is released');
    }
    sfu.failWith = undefined;
    assert.equal(await counter('refused', 'no_codec'), 1);
    assert.equal(api.whep!.size, 0);
    assert.equal(sfu.listening, 0);
  });
});
