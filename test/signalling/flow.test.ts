import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { connectSocket, delay, login, nextEvent, recordEvents, type TestUser } from '../support/clients.ts';
import { useServerWithClients } from '../support/server-clients.ts';

const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n';
const ANSWER = 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n';
const CANDIDATE = {
  candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host',
  sdpMid: '0',
  sdpMLineIndex: 0,
};

interface RoomReply {
  id: number;
  code: string;
  participants: Array<{ id: number; userId: number; user: { id: number } | null }>;
}

function publishPayload(roomId: number, participantId: number, connectionType = 0) {
  return {
    sdp: OFFER,
    roomId: String(roomId),
    participantId: String(participantId),
    isVideoEnabled: true,
    isAudioEnabled: false,
    isE2eeEnabled: false,
    totalTracks: 2,
    connectionType,
  };
}

describe('signalling: Waterbus client flow over socket.io (msgpack)', () => {
  const live = useServerWithClients();
  let alice: TestUser;
  let bob: TestUser;
  let mallory: TestUser;

  before(async () => {
    alice = await login(live.call, 'alice-ext', 'Alice');
    bob = await login(live.call, 'bob-ext', 'Bob');
    mallory = await login(live.call, 'mallory-ext', 'Mallory');
  });

  async function createAndJoin(password?: string) {
    const created = await live.call<RoomReply>('POST', '/rooms', {
      token: alice.token,
      body: { title: 'Standup', password },
    });
    assert.equal(created.status, 201);
    const room = created.body;
    const aliceJoin = await live.call<RoomReply>('POST', `/rooms/${room.id}/join`, {
      token: alice.token,
      body: {},
    });
    assert.equal(aliceJoin.status, 201);
    // Bob is not a member: he opens the room by its code first, as Waterbus clients do.
    await live.call('GET', `/rooms/${room.code}`, { token: bob.token });
    const bobJoin = await live.call<RoomReply>('POST', `/rooms/${room.id}/join`, {
      token: bob.token,
      body: { password },
    });
    assert.equal(bobJoin.status, 201);
    const alicePid = aliceJoin.body.participants.find((p) => p.userId === alice.id)!.id;
    const bobPid = bobJoin.body.participants.find((p) => p.userId === bob.id)!.id;
    return { room, alicePid, bobPid };
  }

  it('connects with the Bearer header, and with the token in the auth payload', async () => {
    const viaHeader = await live.connect(alice.token);
    assert.equal(viaHeader.connected, true);
    const viaAuth = await live.connect(alice.token, { viaAuth: true });
    assert.equal(viaAuth.connected, true);
  });

  it('refuses a missing, forged or refresh token with a clear connect_error', async () => {
    await assert.rejects(connectSocket(live.server.baseUrl, undefined), /Missing Authorization header/);
    await assert.rejects(
      connectSocket(live.server.baseUrl, `${alice.token.slice(0, -4)}AAAA`),
      /Invalid token/,
    );
    await assert.rejects(connectSocket(live.server.baseUrl, alice.refreshToken), /Invalid token/);
  });

  it('P2P: publish → new_participant → subscribe → answer relay → candidates → chat → leave', async () => {
    const { room, alicePid, bobPid } = await createAndJoin();
    const a = await live.connect(alice.token);
    const b = await live.connect(bob.token);

    // Alice publishes in P2P mode: no reply to her; nobody else is in the room yet.
    const aliceSeen = recordEvents(a);
    a.emit('room.publish', publishPayload(room.id, alicePid));
    await delay(100);
    assert.deepEqual(
      aliceSeen.filter((e) => e.event !== 'room.new_participant'),
      [],
    );

    // Bob publishes: Alice is told, with the participant and its user.
    const announced = nextEvent<{ participant: Record<string, unknown>; isMigrate: boolean }>(
      a,
      'room.new_participant',
    );
    b.emit('room.publish', publishPayload(room.id, bobPid));
    const np = await announced;
    assert.equal(np.isMigrate, false);
    assert.equal(np.participant.id, bobPid);
    assert.equal(np.participant.roomId, room.id);
    assert.equal((np.participant.user as { id: number }).id, bob.id);
    for (const key of ['id', 'createdAt', 'deletedAt', 'userId', 'roomId', 'status', 'user']) {
      assert.ok(key in np.participant, `participant.${key}`);
    }
    assert.ok(!('nodeId' in np.participant), 'node id is never sent');

    // Alice subscribes to Bob: she gets Bob's own offer and media state.
    const answerSub = nextEvent<Record<string, unknown>>(a, 'room.answer_subscriber');
    a.emit('room.subscribe', {
      targetId: String(bobPid),
      roomId: String(room.id),
      participantId: String(alicePid),
    });
    const sub = await answerSub;
    assert.deepEqual(sub, {
      targetId: String(bobPid),
      offer: OFFER,
      cameraType: 0,
      videoEnabled: true,
      audioEnabled: false,
      isScreenSharing: false,
      isHandRaising: false,
      isE2eeEnabled: false,
      videoCodec: '',
      screenTrackId: null,
      connectionType: 0,
    });

    // A second subscribe gets the offer again (the original handed it out only once).
    const again = nextEvent<Record<string, unknown>>(a, 'room.answer_subscriber');
    a.emit('room.subscribe', {
      targetId: String(bobPid),
      roomId: String(room.id),
      participantId: String(alicePid),
    });
    assert.equal((await again).offer, OFFER);

    // Alice's answer reaches Bob as room.publish.
    const relayedAnswer = nextEvent(b, 'room.publish');
    a.emit('room.answer_subscriber', {
      roomId: String(room.id),
      targetId: String(bobPid),
      sdp: ANSWER,
      connectionType: 0,
    });
    assert.deepEqual(await relayedAnswer, { sdp: ANSWER, isRecording: false });

    // Candidates cross over: publisher_candidate → subscriber_candidate (nested, targetId ""), and back flat.
    const toBob = nextEvent(b, 'room.subscriber_candidate');
    a.emit('room.publisher_candidate', { candidate: CANDIDATE, connectionType: 0, roomId: String(room.id) });
    assert.deepEqual(await toBob, { targetId: '', candidate: CANDIDATE });
    const toAlice = nextEvent(a, 'room.publisher_candidate');
    b.emit('room.subscriber_candidate', {
      targetId: String(alicePid),
      candidate: CANDIDATE,
      connectionType: 0,
      roomId: String(room.id),
    });
    assert.deepEqual(await toAlice, CANDIDATE);

    // Renegotiation relay.
    const reneg = nextEvent(b, 'room.subscriber_renegotiation');
    a.emit('room.publisher_renegotiation', { sdp: OFFER, roomId: String(room.id), connectionType: 0 });
    assert.deepEqual(await reneg, { targetId: '', sdp: OFFER });

    // Media state toggles are broadcast with the sender's participantId.
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      ['room.video_enabled', { isEnabled: false }, { participantId: String(alicePid), isEnabled: false }],
      ['room.audio_enabled', { isEnabled: true }, { participantId: String(alicePid), isEnabled: true }],
      ['room.camera_type', { type: 1 }, { participantId: String(alicePid), type: 1 }],
      ['room.hand_raising', { isRaising: true }, { participantId: String(alicePid), isRaising: true }],
      [
        'room.screen_sharing',
        { isSharing: true, screenMid: '2' },
        { participantId: String(alicePid), isSharing: true, screenTrackId: '2' },
      ],
    ];
    for (const [event, payload, expected] of cases) {
      const got = nextEvent(b, event);
      a.emit(event, payload);
      assert.deepEqual(await got, expected, event);
    }
    // …and later subscribers see the new state.
    const bobSub = nextEvent<Record<string, unknown>>(b, 'room.answer_subscriber');
    b.emit('room.subscribe', {
      targetId: String(alicePid),
      roomId: String(room.id),
      participantId: String(bobPid),
    });
    const state = await bobSub;
    assert.equal(state.videoEnabled, false);
    assert.equal(state.cameraType, 1);
    assert.equal(state.isHandRaising, true);
    assert.equal(state.isScreenSharing, true);
    assert.equal(state.screenTrackId, '2');

    // Chat over REST reaches every socket of the room, the author's included.
    const chatA = nextEvent<Record<string, unknown>>(a, 'chat.send');
    const chatB = nextEvent<Record<string, unknown>>(b, 'chat.send');
    const sent = await live.call<{ id: number }>('POST', `/chats/${room.id}`, {
      token: alice.token,
      body: { data: 'hello' },
    });
    assert.equal(sent.status, 201);
    const [ca, cb] = await Promise.all([chatA, chatB]);
    assert.equal(ca.id, sent.body.id);
    assert.equal(cb.data, 'hello');
    assert.equal((cb.room as { id: number }).id, room.id);
    assert.equal((cb.createdBy as { id: number }).id, alice.id);

    const updated = nextEvent<Record<string, unknown>>(b, 'chat.update');
    assert.equal(
      (await live.call('PUT', `/chats/${sent.body.id}`, { token: alice.token, body: { data: 'hello!' } }))
        .status,
      200,
    );
    assert.equal((await updated).data, 'hello!');
    const deleted = nextEvent<Record<string, unknown>>(b, 'chat.delete');
    assert.equal((await live.call('DELETE', `/chats/${sent.body.id}`, { token: alice.token })).status, 200);
    assert.equal((await deleted).status, 1, 'the delete is persisted and broadcast with status 1');

    // Bob leaves: Alice is told; Bob's participant row is gone.
    const left = nextEvent(a, 'room.participant_left');
    b.emit('room.leave', { roomId: String(room.id) });
    assert.deepEqual(await left, { targetId: String(bobPid) });
    const byCode = await live.call<RoomReply>('GET', `/rooms/${room.code}`, { token: alice.token });
    assert.deepEqual(
      byCode.body.participants.map((p) => p.id),
      [alicePid],
    );
  });

  it('disconnect is a leave; the same participant can publish again from a new socket', async () => {
    const { room, alicePid, bobPid } = await createAndJoin();
    const a = await live.connect(alice.token);
    const b = await live.connect(bob.token);
    a.emit('room.publish', publishPayload(room.id, alicePid));
    const announced = nextEvent(a, 'room.new_participant');
    b.emit('room.publish', publishPayload(room.id, bobPid));
    await announced;

    const left = nextEvent(a, 'room.participant_left');
    b.disconnect();
    assert.deepEqual(await left, { targetId: String(bobPid) });

    // Within the grace period Bob comes back on a new socket with the same participantId.
    const b2 = await live.connect(bob.token);
    const back = nextEvent<{ participant: { id: number } }>(a, 'room.new_participant');
    b2.emit('room.publish', publishPayload(room.id, bobPid));
    assert.equal((await back).participant.id, bobPid);
  });

  it('a newer socket publishing the same participant takes it over; the old one is dropped without a leave', async () => {
    const { room, alicePid, bobPid } = await createAndJoin();
    const a = await live.connect(alice.token);
    const b1 = await live.connect(bob.token);
    a.emit('room.publish', publishPayload(room.id, alicePid));
    const first = nextEvent(a, 'room.new_participant');
    b1.emit('room.publish', publishPayload(room.id, bobPid));
    await first;

    const aliceSeen = recordEvents(a);
    const dropped = nextEvent(b1, 'disconnect');
    const b2 = await live.connect(bob.token);
    const second = nextEvent(a, 'room.new_participant');
    b2.emit('room.publish', publishPayload(room.id, bobPid));
    await second;
    await dropped;
    await delay(150);
    assert.equal(
      aliceSeen.filter((e) => e.event === 'room.participant_left').length,
      0,
      'no participant_left for a takeover',
    );
  });

  it('refuses to act for another user’s participant, and nothing changes', async () => {
    const { room, alicePid, bobPid } = await createAndJoin();
    const a = await live.connect(alice.token);
    const m = await live.connect(mallory.token);
    a.emit('room.publish', publishPayload(room.id, alicePid));
    await delay(50);
    const aliceSeen = recordEvents(a);

    const refused = nextEvent<Record<string, unknown>>(m, 'system.error');
    m.emit('room.publish', publishPayload(room.id, bobPid));
    const err = await refused;
    assert.equal(err.event, 'room.publish');
    assert.equal(err.code, 'permission_denied');
    assert.match(String(err.message), /belongs to another user/);

    // Subscribing, toggling or leaving without having joined is refused too.
    const e2 = nextEvent<Record<string, unknown>>(m, 'system.error');
    m.emit('room.subscribe', {
      targetId: String(alicePid),
      roomId: String(room.id),
      participantId: String(bobPid),
    });
    assert.equal((await e2).code, 'invalid_state');
    const e3 = nextEvent<Record<string, unknown>>(m, 'system.error');
    m.emit('room.video_enabled', { isEnabled: false });
    assert.equal((await e3).code, 'invalid_state');

    // Alice saw nothing of it, and the room still lists only Alice as publishing.
    await delay(100);
    assert.deepEqual(aliceSeen, []);
    await live.call('GET', `/rooms/${room.code}`, { token: mallory.token });
    const joined = await live.call<RoomReply>('POST', `/rooms/${room.id}/join`, {
      token: mallory.token,
      body: {},
    });
    const publishing = joined.body.participants.filter((p) => p.userId !== mallory.id).map((p) => p.id);
    assert.deepEqual(publishing, [alicePid]);
  });

  it('a participant of another room cannot be used in this room', async () => {
    const first = await createAndJoin();
    const second = await createAndJoin();
    const a = await live.connect(alice.token);
    const err = nextEvent<Record<string, unknown>>(a, 'system.error');
    a.emit('room.publish', publishPayload(second.room.id, first.alicePid));
    assert.equal((await err).code, 'permission_denied');
  });

  it('room.subscribe_hls_live_stream: only for your own participant; a server without egress says so', async () => {
    const { room, alicePid, bobPid } = await createAndJoin();
    const a = await live.connect(alice.token);
    const b = await live.connect(bob.token);
    a.emit('room.publish', { ...publishPayload(room.id, alicePid), streamingProtocol: 1 });
    await delay(50);
    const joined = nextEvent(a, 'room.new_participant');
    b.emit('room.publish', publishPayload(room.id, bobPid));
    await joined;
    const ask = (as: number) => ({
      targetId: String(alicePid),
      roomId: String(room.id),
      participantId: String(as),
    });
    const foreign = nextEvent<Record<string, unknown>>(b, 'system.error');
    b.emit('room.subscribe_hls_live_stream', ask(alicePid));
    assert.equal((await foreign).code, 'permission_denied');
    const off = nextEvent<Record<string, unknown>>(b, 'system.error');
    b.emit('room.subscribe_hls_live_stream', ask(bobPid));
    const err = await off;
    assert.equal(err.event, 'room.subscribe_hls_live_stream');
    assert.equal(err.code, 'unsupported');
    assert.match(String(err.message), /EGRESS_ENABLED=true/);
    const bad = nextEvent<Record<string, unknown>>(b, 'system.error');
    b.emit('room.subscribe_hls_live_stream', {
      targetId: 'x',
      roomId: String(room.id),
      participantId: String(bobPid),
    });
    assert.equal((await bad).code, 'invalid_argument');
  });

  it('malformed payloads get a clear invalid_argument error (event and field named)', async () => {
    const a = await live.connect(alice.token);
    const bad: Array<[string, unknown, RegExp]> = [
      ['room.publish', { sdp: 42 }, /sdp/],
      ['room.publish', { ...publishPayload(1, 1), participantId: 'abc' }, /participantId/],
      ['room.publish', { ...publishPayload(1, 1), connectionType: 7 }, /connectionType/],
      ['room.subscribe', 'not an object', /expected object/],
      ['room.video_enabled', { isEnabled: 'yes' }, /isEnabled/],
      [
        'room.publisher_candidate',
        { candidate: { candidate: 5 }, connectionType: 1, roomId: '1' },
        /candidate/,
      ],
    ];
    for (const [event, payload, field] of bad) {
      const got = nextEvent<Record<string, unknown>>(a, 'system.error');
      a.emit(event, payload);
      const err = await got;
      assert.equal(err.event, event);
      assert.equal(err.code, 'invalid_argument', `${event}: ${JSON.stringify(err)}`);
      assert.match(String(err.message), field);
    }
    const unknown = nextEvent<Record<string, unknown>>(a, 'system.error');
    a.emit('room.nonsense', {});
    assert.equal((await unknown).code, 'unsupported');
    assert.equal(a.connected, true, 'bad input does not cost the connection');
  });

  it('clients that pass an ack get the result or { error } through it', async () => {
    const { room, alicePid } = await createAndJoin();
    const a = await live.connect(alice.token);
    const bad = await a.timeout(2000).emitWithAck('room.video_enabled', { isEnabled: 'no' });
    assert.equal(bad.error.code, 'invalid_argument');
    const ok = await a.timeout(2000).emitWithAck('room.publish', publishPayload(room.id, alicePid));
    assert.deepEqual(ok, {});
  });

  it('SFU mode answers with a clear "media engine unavailable" error and changes nothing', async () => {
    const { room, alicePid, bobPid } = await createAndJoin();
    const a = await live.connect(alice.token);
    const b = await live.connect(bob.token);
    a.emit('room.publish', publishPayload(room.id, alicePid));
    await delay(50);
    const aliceSeen = recordEvents(a);
    const err = nextEvent<Record<string, unknown>>(b, 'system.error');
    b.emit('room.publish', publishPayload(room.id, bobPid, 1));
    const e = await err;
    assert.equal(e.code, 'unavailable');
    assert.match(String(e.message), /media engine unavailable/);
    await delay(100);
    assert.deepEqual(aliceSeen, [], 'no new_participant for a failed publish');

    // Migration of a P2P publisher to SFU fails the same way and leaves it in P2P.
    const migrateErr = nextEvent<Record<string, unknown>>(a, 'system.error');
    a.emit('room.migrate', {
      sdp: OFFER,
      roomId: String(room.id),
      participantId: String(alicePid),
      connectionType: 1,
    });
    assert.equal((await migrateErr).code, 'unavailable');
    const sub = nextEvent<Record<string, unknown>>(b, 'system.error');
    b.emit('room.subscribe', {
      targetId: String(alicePid),
      roomId: String(room.id),
      participantId: String(bobPid),
    });
    assert.equal((await sub).code, 'invalid_state', 'bob never joined, so he cannot subscribe');
  });

  it('room.reconnect with a participant brings a new socket back into the room (chat reaches it)', async () => {
    const { room, alicePid, bobPid } = await createAndJoin();
    const a = await live.connect(alice.token);
    const b = await live.connect(bob.token);
    a.emit('room.publish', publishPayload(room.id, alicePid));
    const announced = nextEvent(a, 'room.new_participant');
    b.emit('room.publish', publishPayload(room.id, bobPid));
    await announced;
    b.disconnect();
    const b2 = await live.connect(bob.token);
    const restored = await b2
      .timeout(2000)
      .emitWithAck('room.reconnect', { roomId: String(room.id), participantId: String(bobPid) });
    assert.deepEqual(restored, { restored: true });
    const chat = nextEvent<Record<string, unknown>>(b2, 'chat.send');
    await live.call('POST', `/chats/${room.id}`, { token: alice.token, body: { data: 'welcome back' } });
    assert.equal((await chat).data, 'welcome back');
    // The Waterbus form (no payload) is still accepted.
    assert.deepEqual(await b2.timeout(2000).emitWithAck('room.reconnect', undefined), { restored: true });
  });

  it('an oversized message closes only that connection; the server keeps serving', async () => {
    const a = await live.connect(alice.token);
    const closed = nextEvent(a, 'disconnect');
    a.emit('room.publish', { sdp: 'x'.repeat(200_000) });
    await closed;
    const again = await live.connect(alice.token);
    assert.equal(again.connected, true);
    assert.equal((await fetch(`${live.server.baseUrl}/healthz`)).status, 200);
  });

  it('a socket sending too fast is rate limited with resource_exhausted', async () => {
    const a = await live.connect(alice.token);
    const seen = recordEvents(a);
    for (let i = 0; i < 260; i++) a.emit('room.subscribe_subtitle', { isEnabled: true });
    await delay(300);
    const limited = seen.filter(
      (e) => e.event === 'system.error' && (e.payload as { code: string }).code === 'resource_exhausted',
    );
    assert.ok(limited.length >= 50, `expected rate-limit errors, got ${limited.length}`);
    assert.equal(a.connected, true);
  });
});
