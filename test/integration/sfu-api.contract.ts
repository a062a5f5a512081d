import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket } from 'werift';
import { SfuError, type SfuErrorCode } from '../../src/lib/errors.ts';
import { ParticipantId, RoomId } from '../../src/lib/ids.ts';
import { defaultMediaState, type SfuApi, type SfuDump, type SfuEvent } from '../../src/protocol/sfu-api.ts';
import { iceCredentials, restartOffer, withIceCredentials } from '../../src/protocol/whip-sdp.ts';

/**
 * The behaviour every SfuApi implementation owes signalling, as `node:test` tests: the in-process
 * Sfu, SfuGrpcClient over loopback and the Dispatcher each call `sfuApiContract` with a setup that
 * gives them a fresh SFU (with media) to drive. The peers are werift RTCPeerConnections in this
 * process that send and receive real RTP over ICE/DTLS/SRTP.
 *
 * Each test works in a room of its own; the last one checks that nothing is left behind.
 */
export interface SfuApiContractSetup {
  sfu: SfuApi;
  close(): Promise<void>;
}

const WAIT_MS = 20_000;
let nextRoom = 1;

export function sfuApiContract(name: string, setup: () => Promise<SfuApiContractSetup>): void {
  describe(`SfuApi contract: ${name}`, { timeout: 180_000 }, () => {
    let env: SfuApiContractSetup;
    const peers: Peer[] = [];
    const room = () => RoomId(`${9000 + nextRoom++}`);
    const peer = (kind: 'publisher' | 'subscriber' | 'viewer') => {
      const p = new Peer(kind);
      peers.push(p);
      return p;
    };

    before(async () => {
      env = await setup();
    });
    after(async () => {
      await Promise.all(peers.map((p) => p.close()));
      await env?.close();
    });

    it('join with a real offer answers valid SDP; publisherReady arrives on events() once media flows', async () => {
      const roomId = room();
      const alice = ParticipantId('1');
      const events = new EventTap(env.sfu, roomId);
      try {
        await events.opened();
        const pub = peer('publisher');
        const res = await env.sfu.join({
          roomId,
          participantId: alice,
          sdp: await pub.offer(),
          totalTracks: 2,
          mediaState: defaultMediaState(),
          isMigrate: true,
        });
        assertAnswer(res.sdp);
        assert.equal(res.isRecording, false);
        await pub.accept(res.sdp);
        const ready = await events.next(
          (e) => e.type === 'publisherReady' && e.participantId === alice,
          () => `publisherReady of ${pub.state()}`,
        );
        assert.equal(ready.type === 'publisherReady' && ready.isMigrate, true);
        assert.equal(ready.type === 'publisherReady' && typeof ready.nodeId, 'string');
        const dump = await env.sfu.dump();
        const entry = dump.rooms.find((r) => r.roomId === roomId);
        assert.deepEqual(entry?.participants, [alice]);
        assert.equal(entry?.publishers, 1);
      } finally {
        events.stop();
      }
      await env.sfu.leave({ roomId, participantId: alice });
    });

    it('subscribe offers the publisher tracks; the answer, candidates and media state are accepted; RTP reaches the subscriber', async () => {
      const roomId = room();
      const alice = ParticipantId('11');
      const bob = ParticipantId('12');
      const events = new EventTap(env.sfu, roomId);
      try {
        await events.opened();
        const pub = peer('publisher');
        const joined = await env.sfu.join({
          roomId,
          participantId: alice,
          sdp: await pub.offer(),
          totalTracks: 2,
          mediaState: defaultMediaState(),
          isMigrate: false,
        });
        await pub.accept(joined.sdp);
        await events.next(
          (e) => e.type === 'publisherReady' && e.participantId === alice,
          () => `publisherReady of ${pub.state()}`,
        );
        await env.sfu.addPublisherCandidate({
          roomId,
          participantId: alice,
          candidate: {
            candidate: 'candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host',
            sdpMid: '0',
            sdpMLineIndex: 0,
          },
        });

        const sub = peer('subscriber');
        const offered = await env.sfu.subscribe({ roomId, participantId: bob, targetId: alice });
        assert.match(offered.offer, /^v=0\r\n/);
        assert.match(offered.offer, /m=video /);
        assert.match(offered.offer, /m=audio /);
        assert.equal(offered.videoCodec, 'video/VP8');
        const answer = await sub.answer(offered.offer);
        const applied = await env.sfu.setSubscriberAnswer({
          roomId,
          participantId: bob,
          targetId: alice,
          sdp: answer,
        });
        assert.deepEqual(applied, { refusedTracks: [] }, 'werift takes VP8 and Opus');
        await env.sfu.addSubscriberCandidate({
          roomId,
          participantId: bob,
          targetId: alice,
          candidate: { candidate: '', sdpMid: null, sdpMLineIndex: null },
        });
        await env.sfu.setMediaState({
          roomId,
          participantId: alice,
          state: { audioEnabled: false, handRaising: true },
        });
        await env.sfu.setMediaState({
          roomId,
          participantId: alice,
          state: { screenSharing: false, screenTrackId: null },
        });
        await until(
          () => sub.received.video > 10 && sub.received.audio > 10,
          () => `RTP forwarded to the subscriber (${sub.state()}, received ${JSON.stringify(sub.received)})`,
        );

        const dump = await env.sfu.dump();
        const entry = dump.rooms.find((r) => r.roomId === roomId);
        assert.deepEqual(new Set(entry?.participants), new Set([alice, bob]));
        assert.equal(entry?.subscriptions, 1);
        assert.equal(entry?.downTracks, 2);
      } finally {
        events.stop();
      }
      await env.sfu.leave({ roomId, participantId: bob });
      await env.sfu.leave({ roomId, participantId: alice });
      assert.equal(
        (await env.sfu.dump()).rooms.find((r) => r.roomId === roomId),
        undefined,
      );
    });

    it('renegotiatePublisher answers a new offer; joining again replaces the publisher', async () => {
      const roomId = room();
      const alice = ParticipantId('21');
      const first = peer('publisher');
      const joined = await env.sfu.join({
        roomId,
        participantId: alice,
        sdp: await first.offer(),
        totalTracks: 2,
        mediaState: defaultMediaState(),
        isMigrate: false,
      });
      await first.accept(joined.sdp);
      // Connected first: werift does not stop a DTLS handshake in flight when it closes.
      await until(
        () => first.pc.connectionState === 'connected',
        () => `the publisher to connect (${first.state()})`,
      );
      const renegotiated = await env.sfu.renegotiatePublisher({
        roomId,
        participantId: alice,
        sdp: await first.offer(),
      });
      assertAnswer(renegotiated.sdp);

      const second = peer('publisher');
      const again = await env.sfu.join({
        roomId,
        participantId: alice,
        sdp: await second.offer(),
        totalTracks: 2,
        mediaState: defaultMediaState(),
        isMigrate: false,
      });
      assertAnswer(again.sdp);
      const entry = (await env.sfu.dump()).rooms.find((r) => r.roomId === roomId);
      assert.equal(entry?.publishers, 1);
      assert.deepEqual(entry?.participants, [alice]);
      await env.sfu.leave({ roomId, participantId: alice });
    });

    it('refusals carry the SfuError code: unknown target, no subscription, not published, bad SDP', async () => {
      const roomId = room();
      const alice = ParticipantId('31');
      const bob = ParticipantId('32');
      await rejectsWith(env.sfu.subscribe({ roomId, participantId: bob, targetId: alice }), 'not_found');
      await rejectsWith(
        env.sfu.setSubscriberAnswer({ roomId, participantId: bob, targetId: alice, sdp: 'v=0\r\n' }),
        'not_found',
      );
      await rejectsWith(
        env.sfu.renegotiatePublisher({ roomId, participantId: alice, sdp: await peer('publisher').offer() }),
        'invalid_state',
      );
      await rejectsWith(
        env.sfu.join({
          roomId,
          participantId: alice,
          sdp: 'this is not SDP',
          totalTracks: 1,
          mediaState: defaultMediaState(),
          isMigrate: false,
        }),
        'invalid_argument',
      );
      // Leaving a room one never joined is not an error (signalling leaves on every disconnect).
      await env.sfu.leave({ roomId, participantId: bob });
      assert.equal(
        (await env.sfu.dump()).rooms.find((r) => r.roomId === roomId),
        undefined,
      );
    });

    it('events() ends when its signal aborts, while waiting and before it started', async () => {
      const roomId = room();
      const waiting = new AbortController();
      const iteration = (async () => {
        const seen: SfuEvent[] = [];
        for await (const event of env.sfu.events(roomId, waiting.signal)) seen.push(event);
        return seen;
      })();
      await new Promise((resolve) => setTimeout(resolve, 200));
      waiting.abort();
      assert.deepEqual(await iteration, []);

      const early = new AbortController();
      early.abort();
      const seen: SfuEvent[] = [];
      for await (const event of env.sfu.events(roomId, early.signal)) seen.push(event);
      assert.deepEqual(seen, []);
    });

    it('startEgress taps a publisher on the node hosting the room; list, dump and egressUpdated show it until stopEgress ends it', async () => {
      const roomId = room();
      const alice = ParticipantId('41');
      const events = new EventTap(env.sfu, roomId);
      try {
        await events.opened();
        const pub = peer('publisher');
        const res = await env.sfu.join({
          roomId,
          participantId: alice,
          sdp: await pub.offer(),
          totalTracks: 2,
          mediaState: defaultMediaState(),
          isMigrate: false,
        });
        await pub.accept(res.sdp);
        await events.next(
          (e) => e.type === 'publisherReady' && e.participantId === alice,
          () => `publisherReady of ${pub.state()}`,
        );
        const started = await env.sfu.startEgress({
          roomId,
          kind: 'hls',
          participantId: alice,
          requestedBy: 'admin',
        });
        assert.equal(started.roomId, roomId);
        assert.equal(started.kind, 'hls');
        assert.equal(started.participantId, alice);
        assert.equal(started.state, 'active');
        assert.equal(started.endedAt, null);
        assert.ok(started.nodeId.length > 0, 'the node running it is named');
        const listed = await env.sfu.listEgress(roomId);
        assert.deepEqual(
          listed.map((e) => [e.egressId, e.state]),
          [[started.egressId, 'active']],
        );
        const dump = await env.sfu.dump();
        assert.equal(dump.rooms.find((r) => r.roomId === roomId)?.taps, 1, 'one tap on the publisher');
        assert.ok(
          dump.egress?.some((e) => e.egressId === started.egressId),
          'the dump lists the running egress',
        );
        await events.next(
          (e) =>
            e.type === 'egressUpdated' &&
            e.egress.egressId === started.egressId &&
            e.egress.state === 'active',
          () => 'egressUpdated (active)',
        );
        await rejectsWith(env.sfu.stopEgress({ roomId, egressId: 'EG_missing' }), 'not_found');
        await rejectsWith(
          env.sfu.startEgress({
            roomId,
            kind: 'recording',
            participantId: ParticipantId('49'),
            requestedBy: 'admin',
          }),
          'not_found',
        );
        const stopped = await env.sfu.stopEgress({ roomId, egressId: started.egressId });
        assert.equal(stopped.state, 'ended');
        assert.equal(stopped.reason, 'stopped');
        assert.equal(typeof stopped.endedAt, 'number');
        await events.next(
          (e) =>
            e.type === 'egressUpdated' &&
            e.egress.egressId === started.egressId &&
            e.egress.state === 'ended',
          () => 'egressUpdated (ended)',
        );
        await until(
          async () => (await env.sfu.dump()).rooms.find((r) => r.roomId === roomId)?.taps === 0,
          () => 'the tap detached from the publisher',
        );
      } finally {
        events.stop();
      }
      await env.sfu.leave({ roomId, participantId: alice });
    });

    it("subscribe with the subscriber's own offer (a WHEP viewer) answers it; RTP reaches it; the target leaving ends it with viewerEnded", async () => {
      const roomId = room();
      const alice = ParticipantId('31');
      const viewer = ParticipantId('whep-31');
      const events = new EventTap(env.sfu, roomId);
      try {
        await events.opened();
        const pub = peer('publisher');
        const joined = await env.sfu.join({
          roomId,
          participantId: alice,
          sdp: await pub.offer(),
          totalTracks: 2,
          mediaState: defaultMediaState(),
          isMigrate: false,
        });
        await pub.accept(joined.sdp);
        await events.next(
          (e) => e.type === 'publisherReady' && e.participantId === alice,
          () => `publisherReady of ${pub.state()}`,
        );
        const sub = peer('viewer');
        const offer = await sub.offer();
        const res = await env.sfu.subscribe({ roomId, participantId: viewer, targetId: alice, offer });
        assert.equal(res.offer, '');
        assertAnswer(res.answer ?? '');
        assert.equal(res.videoCodec, 'video/VP8');
        await sub.accept(res.answer!);
        await until(
          () => sub.received.video > 10 && sub.received.audio > 10,
          () => `RTP forwarded to the viewer (${sub.state()}, received ${JSON.stringify(sub.received)})`,
        );
        // An ICE restart (a WHEP PATCH): the answer as before with our new credentials.
        const credentials = { ufrag: 'rst1', pwd: 'restarted-password-0123456789' };
        const restart = {
          roomId,
          targetId: alice,
          offer: restartOffer(offer, credentials),
          iceRestart: true,
        };
        const restarted = await env.sfu.subscribe({ ...restart, participantId: viewer });
        const [before, after] = [iceCredentials(res.answer!)!, iceCredentials(restarted.answer ?? '')];
        assert.ok(after && after.ufrag !== before.ufrag && after.pwd !== before.pwd, 'new credentials');
        assert.equal(withIceCredentials(restarted.answer!, before), res.answer, 'all else as answered');
        await rejectsWith(
          env.sfu.subscribe({ ...restart, participantId: ParticipantId('whep-0') }),
          'not_found',
        );
        await assert.rejects(
          env.sfu.setSubscriberAnswer({ roomId, participantId: viewer, targetId: alice, sdp: res.answer! }),
          (err) => err instanceof SfuError && err.code === 'invalid_state',
          'a viewer has no server offer to answer',
        );
        await env.sfu.leave({ roomId, participantId: alice });
        const ended = await events.next(
          (e) => e.type === 'viewerEnded',
          () => 'viewerEnded after the target left',
        );
        assert.deepEqual(ended, {
          type: 'viewerEnded',
          participantId: viewer,
          targetId: alice,
          reason: 'target_left',
        });
      } finally {
        events.stop();
      }
      await env.sfu.leave({ roomId, participantId: viewer });
      assert.equal(
        (await env.sfu.dump()).rooms.find((r) => r.roomId === roomId),
        undefined,
      );
    });

    it('inspectRoom lists the tracks and who receives them; an enforced mute stops forwarding until the kind is turned back on', async () => {
      const roomId = room();
      const alice = ParticipantId('41');
      const bob = ParticipantId('42');
      const events = new EventTap(env.sfu, roomId);
      try {
        await events.opened();
        const pub = peer('publisher');
        const joined = await env.sfu.join({
          roomId,
          participantId: alice,
          sdp: await pub.offer(),
          totalTracks: 2,
          mediaState: defaultMediaState(),
          isMigrate: false,
        });
        await pub.accept(joined.sdp);
        await events.next(
          (e) => e.type === 'publisherReady' && e.participantId === alice,
          () => `publisherReady of ${pub.state()}`,
        );
        const sub = peer('subscriber');
        const offered = await env.sfu.subscribe({ roomId, participantId: bob, targetId: alice });
        await env.sfu.setSubscriberAnswer({
          roomId,
          participantId: bob,
          targetId: alice,
          sdp: await sub.answer(offered.offer),
        });
        await until(
          () => sub.received.video > 10 && sub.received.audio > 10,
          () => `RTP forwarded to the subscriber (${sub.state()})`,
        );
        const seen = await env.sfu.inspectRoom(roomId);
        assert.equal(seen.roomId, roomId);
        assert.notEqual(seen.nodeId, '');
        assert.deepEqual(
          seen.participants.map((p) => p.participantId),
          [alice, bob],
        );
        const tracks = seen.participants[0]!.tracks;
        assert.deepEqual(tracks.map((t) => [t.kind, t.source, t.muted]).sort(), [
          ['audio', 'microphone', false],
          ['video', 'camera', false],
        ]);
        assert.equal(tracks.find((t) => t.kind === 'video')?.codec, 'video/VP8');
        for (const t of tracks)
          assert.deepEqual(
            t.subscribers.map((s) => s.participantId),
            [bob],
          );
        assert.ok(seen.participants[0]!.bytesIn > 0);
        assert.ok(seen.participants[1]!.bytesOut > 0);

        await env.sfu.setMediaState({
          roomId,
          participantId: alice,
          state: { audioEnabled: false },
          enforce: true,
        });
        const muted = await env.sfu.inspectRoom(roomId);
        assert.equal(muted.participants[0]!.tracks.find((t) => t.kind === 'audio')?.muted, true);
        // Audio already on its way may still land: it has once later video (same path) arrived.
        const mutedAt = sub.received.video;
        await until(
          () => sub.received.video > mutedAt + 10,
          () => `video still forwarded (${JSON.stringify(sub.received)})`,
        );
        const audioAt = sub.received.audio;
        const videoAt = sub.received.video;
        await until(
          () => sub.received.video > videoAt + 20,
          () => `video still forwarded (${JSON.stringify(sub.received)})`,
        );
        assert.equal(sub.received.audio, audioAt, 'no audio forwarded while muted');
        await env.sfu.setMediaState({ roomId, participantId: alice, state: { audioEnabled: true } });
        await until(
          () => sub.received.audio > audioAt + 10,
          () => `audio forwarded again (${JSON.stringify(sub.received)})`,
        );
      } finally {
        events.stop();
      }
      await env.sfu.leave({ roomId, participantId: bob });
      await env.sfu.leave({ roomId, participantId: alice });
      assert.deepEqual((await env.sfu.inspectRoom(roomId)).participants, []);
    });

    it('after everyone left, dump() holds no room and no transport', async () => {
      await Promise.all(peers.map((p) => p.close()));
      let dump: SfuDump | undefined;
      await until(
        async () => {
          dump = await env.sfu.dump();
          return dump.rooms.length === 0 && dump.transports === 0;
        },
        () => `an empty SFU (last dump: ${JSON.stringify(dump)})`,
      );
    });
  });
}

/** The events of one room, collected from the moment it is made until `stop()`. */
class EventTap {
  readonly #abort = new AbortController();
  readonly #seen: SfuEvent[] = [];
  #failure: unknown = null;
  #started = false;
  readonly #done: Promise<void>;

  constructor(sfu: SfuApi, roomId: RoomId) {
    this.#done = (async () => {
      const iterator = sfu.events(roomId, this.#abort.signal)[Symbol.asyncIterator]();
      let next = iterator.next();
      this.#started = true;
      for (;;) {
        const step = await next;
        if (step.done) return;
        this.#seen.push(step.value);
        next = iterator.next();
      }
    })().catch((err: unknown) => {
      this.#failure = err;
    });
  }

  /** Lets an implementation that attaches over the network do so before the test acts. */
  async opened(): Promise<void> {
    await until(() => this.#started, 'the event iteration to start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  async next(match: (e: SfuEvent) => boolean, what: () => string): Promise<SfuEvent> {
    let found: SfuEvent | undefined;
    await until(
      () => {
        if (this.#failure) throw this.#failure;
        found = this.#seen.find(match);
        return found !== undefined;
      },
      () => `${what()} (events so far: ${JSON.stringify(this.#seen.map((e) => e.type))})`,
    );
    return found!;
  }

  stop(): Promise<void> {
    this.#abort.abort();
    return this.#done;
  }
}

/**
 * A werift peer: a publisher sends VP8 and Opus RTP, a subscriber (answering the server's offer)
 * or a viewer (offering to receive) counts the RTP it receives.
 */
class Peer {
  readonly received = { video: 0, audio: 0 };
  readonly #kind: 'publisher' | 'subscriber' | 'viewer';
  readonly #timers: NodeJS.Timeout[] = [];
  #sent = 0;
  #pc!: RTCPeerConnection;
  #video!: MediaStreamTrack;
  #audio!: MediaStreamTrack;

  constructor(kind: 'publisher' | 'subscriber' | 'viewer') {
    this.#kind = kind;
    this.#reset();
  }

  get pc(): RTCPeerConnection {
    return this.#pc;
  }

  /** A fresh connection (werift's ICE ufrag is 4 hex digits, sometimes all digits: the SFU copes). */
  #reset(): void {
    this.#pc = new RTCPeerConnection({
      bundlePolicy: 'max-bundle',
      // werift asks a public STUN server for a reflexive candidate unless told another: one on
      // loopback that never answers keeps the test off the network (gathering gives up in 0.2 s).
      iceServers: [{ urls: 'stun:127.0.0.1:9' }],
      iceStunGatherTimeout: 0.2,
    });
    if (this.#kind === 'publisher') {
      this.#video = new MediaStreamTrack({ kind: 'video' });
      this.#audio = new MediaStreamTrack({ kind: 'audio' });
      this.#pc.addTransceiver(this.#video, { direction: 'sendonly' });
      this.#pc.addTransceiver(this.#audio, { direction: 'sendonly' });
    } else {
      // A viewer (WHEP) offers to receive, as a plain WebRTC player does.
      if (this.#kind === 'viewer') {
        this.#pc.addTransceiver('video', { direction: 'recvonly' });
        this.#pc.addTransceiver('audio', { direction: 'recvonly' });
      }
      this.#pc.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe(() => {
          this.received[track.kind as 'video' | 'audio']++;
        });
      });
    }
  }

  async #describe(make: () => Promise<void>): Promise<string> {
    await make();
    return this.#pc.localDescription!.sdp;
  }

  /** For failure messages: where the connection got to. */
  state(): string {
    return `a peer with ICE ${this.#pc.iceConnectionState}, connection ${this.#pc.connectionState}, ${this.#sent} packets sent`;
  }

  offer(): Promise<string> {
    return this.#describe(async () => {
      await this.#pc.setLocalDescription(await this.#pc.createOffer());
    });
  }

  async accept(answer: string): Promise<void> {
    await this.#pc.setRemoteDescription({ type: 'answer', sdp: answer });
    if (this.#kind === 'publisher') this.#send();
  }

  answer(offer: string): Promise<string> {
    return this.#describe(async () => {
      await this.#pc.setRemoteDescription({ type: 'offer', sdp: offer });
      await this.#pc.setLocalDescription(await this.#pc.createAnswer());
    });
  }

  /** 30 VP8 key frames (one packet each) and 50 Opus packets per second. */
  #send(): void {
    if (this.#timers.length > 0) return;
    let videoSeq = 0;
    let audioSeq = 0;
    // VP8 payload descriptor (start of partition) + a key frame header of 320x180.
    const vp8 = Buffer.concat([
      Buffer.from([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00]),
      Buffer.alloc(200, 0x55),
    ]);
    const opus = Buffer.from([0xf8, 0xff, 0xfe]);
    this.#timers.push(
      setInterval(() => {
        videoSeq++;
        const header = new RtpHeader({
          sequenceNumber: videoSeq & 0xffff,
          timestamp: videoSeq * 3000,
          marker: true,
        });
        this.#video.writeRtp(new RtpPacket(header, vp8));
        this.#sent++;
      }, 33),
      setInterval(() => {
        audioSeq++;
        const header = new RtpHeader({
          sequenceNumber: audioSeq & 0xffff,
          timestamp: audioSeq * 960,
          marker: false,
        });
        this.#audio.writeRtp(new RtpPacket(header, opus));
        this.#sent++;
      }, 20),
    );
  }

  async close(): Promise<void> {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    await closePeerConnection(this.#pc);
  }
}

async function closePeerConnection(pc: RTCPeerConnection): Promise<void> {
  const transports = pc.iceTransports;
  await pc.close();
  // werift 0.25 leaves its 30 s ICE consent expiry timer running after close (it would keep
  // the test process alive that long): clear it.
  for (const t of transports) {
    const connection = t.connection as unknown as { consentExpiryTimer?: NodeJS.Timeout };
    clearTimeout(connection.consentExpiryTimer);
  }
}

function assertAnswer(sdp: string): void {
  assert.match(sdp, /^v=0\r\n/);
  assert.match(sdp, /\r\na=ice-ufrag:/);
  assert.match(sdp, /\r\na=fingerprint:sha-256 /);
  assert.match(sdp, /\r\nm=video /);
  assert.match(sdp, /\r\nm=audio /);
  assert.match(sdp, /\r\na=candidate:/);
}

async function rejectsWith(promise: Promise<unknown>, code: SfuErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SfuError, `expected an SfuError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

async function until(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
