import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { TWCC_EXTENSION, vp8UpTrack } from '../../../test/fakes/vp8-up-track.ts';
import type { ParticipantId } from '../../lib/ids.ts';
import { mediaCounters } from '../../lib/media-counters.ts';
import type { TransportState } from '../../transport/media-transport.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import { PacketCache } from '../packet-cache.ts';
import { CachedKeyframe, REPLAY_MAX_AGE_MS, REPLAY_MAX_PACKETS } from './cached-keyframe.ts';
import { DownTrack } from './down-track.ts';
import { Subscription } from './subscription.ts';
import { UpTrack } from './up-track.ts';

/** A VP8 RTP packet (no extension); `key` makes it a keyframe start; `ext` adds a transport-cc extension (id 5). */
function vp8(ssrc: number, seq: number, ts: number, key: boolean, ext = false): Buffer {
  const extBytes = ext ? 8 : 0;
  const b = Buffer.alloc(12 + extBytes + 10);
  b[0] = ext ? 0x90 : 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(ssrc, 8);
  if (ext) {
    b.writeUInt16BE(0xbede, 12);
    b.writeUInt16BE(1, 14);
    b[16] = (5 << 4) | 1;
  }
  b[12 + extBytes] = 0x10;
  b[13 + extBytes] = key ? 0x00 : 0x01;
  return b;
}

function upTrack(clock: ManualClock, rids: string[], plis: number[]) {
  return vp8UpTrack({
    mid: '1',
    rids,
    headerExtensions: [TWCC_EXTENSION],
    clock,
    sendPli: (ssrc) => plis.push(ssrc),
  });
}

function setup(rids: string[] = []) {
  const clock = new ManualClock();
  const plis: number[] = [];
  const up = upTrack(clock, rids, plis);
  const sent: Buffer[] = [];
  const down = new DownTrack({
    upTrack: up,
    ssrc: 0x5000,
    payloadType: 100,
    waitForStart: true,
    send: (p) => sent.push(p),
  });
  const feed = (buf: Buffer) => up.onRtp(buf, 12, buf.readUInt32BE(8));
  return { clock, plis, up, down, sent, feed };
}

/** One keyframe (2 packets) then deltas, 30 fps, from `seq`. */
function gop(feed: (b: Buffer) => void, ssrc: number, seq: number, deltas: number): void {
  feed(vp8(ssrc, seq, 90_000, true));
  feed(vp8(ssrc, seq + 1, 90_000, false));
  for (let i = 0; i < deltas; i++) feed(vp8(ssrc, seq + 2 + i, 90_000 + (i + 1) * 3000, false));
}

describe('DownTrack.start: first keyframe from the cache', () => {
  it('issue 17: a video DownTrack waiting for start forwards nothing, then replays the cached keyframe and what followed, with continuous sequence numbers and no keyframe request', () => {
    const { up, down, sent, feed, plis, clock } = setup();
    up.addLayer(222, undefined);
    feed(vp8(222, 40, 0, false));
    gop(feed, 222, 41, 3);
    assert.equal(sent.length, 0, 'nothing forwarded before start');
    assert.equal(down.started, false);
    clock.advance(100);
    assert.equal(down.start(), 'replayed');
    assert.deepEqual(
      sent.map((p) => p.readUInt16BE(2)),
      [41, 42, 43, 44, 45],
      'from the keyframe to the newest, in order',
    );
    assert.equal(sent[0]!.readUInt32BE(8), 0x5000, 'our SSRC');
    assert.equal(sent[0]![13], 0x00, 'the keyframe first');
    feed(vp8(222, 46, 90_000 + 4 * 3000, false));
    assert.equal(sent.at(-1)!.readUInt16BE(2), 46, 'live packets continue the sequence');
    assert.deepEqual(plis, [], 'no keyframe asked of the publisher');
    assert.equal(down.start(), 'already');
  });

  it('replayed packets take the subscription path: mapped extensions and transport-wide sequence numbers', () => {
    const clock = new ManualClock();
    const plis: number[] = [];
    const up = upTrack(clock, [], plis);
    up.addLayer(222, undefined);
    const sent: Buffer[] = [];
    let state: TransportState = 'new';
    const transport = {
      get state() {
        return state;
      },
      onRtcp: null,
      onRtp: null,
      sendRtp: (p: Buffer) => {
        if (state === 'connected') sent.push(Buffer.from(p));
      },
      rtpBuffer: (bytes: number) => Buffer.alloc(bytes + 16),
      sendRtpInPlace: (p: Buffer, length: number) => {
        if (state === 'connected') sent.push(Buffer.from(p.subarray(0, length)));
      },
      sendRtcp: () => undefined,
      close: () => undefined,
      readArrivalUs: (out: Float64Array) => {
        out[0] = 0;
      },
    } as unknown as WebRtcTransport;
    const sub = new Subscription({
      subscriberId: 's' as ParticipantId,
      targetId: 'p' as ParticipantId,
      transport,
      clock,
      transportCcId: 3,
    });
    const ids = new Uint8Array(256);
    ids[5] = 3;
    const down = sub.addTrack(up, { ssrc: 0x5000, payloadType: 100, extensionIds: ids });
    assert.deepEqual(plis, [222], 'the keyframe asked when the subscription is made');
    const feed = (b: Buffer) => up.onRtp(b, 20, 222);
    feed(vp8(222, 10, 90_000, true, true));
    feed(vp8(222, 11, 93_000, false, true));
    sub.answered();
    state = 'connecting';
    sub.transportStateChanged(state);
    assert.equal(down.packetsSent, 0, 'still waiting: no SRTP keys yet');
    clock.advance(20);
    const cachedStarts = mediaCounters.videoStartsCached;
    state = 'connected';
    sub.transportStateChanged(state);
    assert.equal(
      mediaCounters.videoStartsCached,
      cachedStarts + 1,
      'counted (bbmeet_media_video_starts_total)',
    );
    assert.equal(sent.length, 2);
    assert.deepEqual(
      sent.map((p) => [p.readUInt16BE(2), p[16]! >> 4, p.readUInt16BE(17)]),
      [
        [10, 3, 0],
        [11, 3, 1],
      ],
      'sequence numbers as received, the extension under the subscriber id, transport-wide numbers from 0',
    );
    assert.deepEqual(plis, [222], 'no second request');
    const steps = sub.timeline.stepsMs;
    assert.deepEqual(Object.keys(steps), [
      'answered',
      'iceSelected',
      'connected',
      'firstRtp',
      'firstKeyframe',
    ]);
    assert.equal(steps.connected, 20);
    assert.equal(steps.firstKeyframe, 20);
    assert.equal(sub.timeline.start, 'replayed');
    sub.close();
  });

  it('with no cached keyframe, start() asks the publisher for one and starts at it', () => {
    const { up, down, sent, feed, plis } = setup();
    up.addLayer(222, undefined);
    feed(vp8(222, 1, 0, false));
    assert.equal(down.start(), 'asked');
    assert.deepEqual(plis, [222]);
    feed(vp8(222, 2, 3000, false));
    assert.equal(sent.length, 0, 'deltas are not forwarded before a keyframe');
    feed(vp8(222, 3, 6000, true));
    assert.equal(sent.length, 1);
  });

  it('a keyframe older than REPLAY_MAX_AGE_MS is not replayed: a new one is asked for', () => {
    const { up, down, sent, feed, plis, clock } = setup();
    up.addLayer(222, undefined);
    gop(feed, 222, 1, 2);
    clock.advance(REPLAY_MAX_AGE_MS + 1);
    assert.equal(down.start(), 'asked');
    assert.equal(sent.length, 0);
    assert.deepEqual(plis, [222]);
  });

  it('a cached range with a gap (a packet lost upstream) is not replayed', () => {
    const { up, down, sent, feed, plis } = setup();
    up.addLayer(222, undefined);
    feed(vp8(222, 1, 0, true));
    feed(vp8(222, 3, 3000, false));
    assert.equal(down.start(), 'asked');
    assert.equal(sent.length, 0);
    assert.deepEqual(plis, [222]);
  });

  it('simulcast: replays the target layer, else the best lower layer cached; the target is asked for then', () => {
    const { up, down, sent, feed, plis } = setup(['q', 'h', 'f']);
    up.addLayer(111, 'q');
    up.addLayer(222, 'h');
    up.addLayer(333, 'f');
    gop(feed, 111, 100, 1);
    gop(feed, 222, 200, 1);
    feed(vp8(333, 300, 90_000, false));
    down.setTarget({ spatial: 2, temporal: 2 });
    assert.equal(down.start(), 'replayed');
    assert.equal(down.currentSsrc, 222, 'the best layer below the target with a whole keyframe');
    assert.deepEqual(
      sent.map((p) => p.readUInt16BE(2)),
      [200, 201, 202],
    );
    assert.deepEqual(plis, [333], 'the target keyframe is asked for by the selector');
  });

  it('a track muted by an operator replays nothing; a paused one (target none) waits', () => {
    const muted = setup();
    muted.up.addLayer(222, undefined);
    gop(muted.feed, 222, 1, 1);
    muted.up.setMuted(true);
    assert.equal(muted.down.start(), 'asked');
    assert.equal(muted.sent.length, 0);
    const paused = setup();
    paused.up.addLayer(222, undefined);
    gop(paused.feed, 222, 1, 1);
    paused.down.setTarget({ spatial: -1, temporal: -1 });
    assert.equal(paused.down.start(), 'paused');
    assert.equal(paused.sent.length, 0);
  });

  it('audio starts at once', () => {
    const clock = new ManualClock();
    const up = new UpTrack({
      trackId: 'mic',
      streamId: 'stream',
      mid: '0',
      kind: 'audio',
      codec: { mimeType: 'audio/opus', payloadType: 111, clockRate: 48_000, channels: 2, fmtp: {} },
      rids: [],
      clock,
      sendPli: () => undefined,
    });
    up.addLayer(7, undefined);
    const sent: Buffer[] = [];
    const down = new DownTrack({
      upTrack: up,
      ssrc: 0x7000,
      payloadType: 111,
      waitForStart: true,
      send: (p) => sent.push(p),
    });
    const b = Buffer.alloc(12 + 4);
    b[0] = 0x80;
    b[1] = 111;
    b.writeUInt32BE(7, 8);
    up.onRtp(b, 12, 7);
    assert.equal(sent.length, 1);
    assert.equal(down.start(), 'already');
  });
});

/** A VP9 packet (non-flexible, layer indices): one spatial layer's frame of picture `ts`. */
function vp9(seq: number, ts: number, sid: number, key: boolean): Buffer {
  const b = Buffer.alloc(12 + 4 + 6);
  b[0] = 0x80;
  b[1] = 98;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(444, 8);
  // I (picture id), P (inter) unless key, L (layer indices), B and E (one packet per layer frame).
  b[12] = 0x80 | (key ? 0 : 0x40) | 0x20 | 0x08 | 0x04;
  b[13] = ts & 0x7f;
  b[14] = (sid << 1) | (sid > 0 ? 1 : 0);
  b[15] = 0;
  if (sid === 2) b[1] |= 0x80;
  return b;
}

describe('DownTrack.start with VP9 SVC', () => {
  it('replays from the intra picture (its spatial layer 0) and forwards the layers up to the target, sequence numbers without gaps', () => {
    const clock = new ManualClock();
    const plis: number[] = [];
    const up = new UpTrack({
      trackId: 'cam',
      streamId: 'stream',
      mid: '1',
      kind: 'video',
      codec: { mimeType: 'video/VP9', payloadType: 98, clockRate: 90_000, fmtp: {} },
      rids: [],
      clock,
      sendPli: (ssrc) => plis.push(ssrc),
    });
    assert.equal(up.svc, true);
    up.addLayer(444, undefined);
    const sent: Buffer[] = [];
    const down = new DownTrack({
      upTrack: up,
      ssrc: 0x5000,
      payloadType: 98,
      waitForStart: true,
      send: (p) => sent.push(p),
    });
    const feed = (b: Buffer) => up.onRtp(b, 12, 444);
    down.setTarget({ spatial: 1, temporal: 2 });
    for (let sid = 0; sid < 3; sid++) feed(vp9(7 + sid, 1000, sid, false));
    for (let sid = 0; sid < 3; sid++) feed(vp9(10 + sid, 4000, sid, true));
    for (let sid = 0; sid < 3; sid++) feed(vp9(13 + sid, 7000, sid, false));
    plis.length = 0;
    assert.equal(down.start(), 'replayed');
    assert.deepEqual(
      sent.map((p) => [p.readUInt16BE(2), p.readUInt32BE(4), (p[14]! >> 1) & 7]),
      [
        [10, 4000, 0],
        [11, 4000, 1],
        [12, 7000, 0],
        [13, 7000, 1],
      ],
      'the key picture first, spatial layer 2 dropped and left out of the sequence',
    );
    assert.deepEqual(plis, [], 'at the target at once: no keyframe asked to go up');
  });
});

describe('CachedKeyframe', () => {
  const cache = new PacketCache({ capacity: 512 });
  const store = (seq: number) => cache.store(seq, Buffer.alloc(20));

  it('starts at the earliest packet of the newest keyframe; a late packet of an older picture does not move it', () => {
    const k = new CachedKeyframe();
    for (let s = 65_534; s < 65_534 + 6; s++) store(s & 0xffff);
    k.received(65_535, 1000, true, 0);
    k.received(65_534, 1000, true, 0);
    k.received(0, 1000, true, 0);
    k.received(1, 4000, false, 0);
    assert.deepEqual(k.replayRange(cache, 10), { firstSeq: 65_534, count: 4 }, 'across the wrap');
    k.received(65_000, 500, true, 0);
    assert.deepEqual(k.replayRange(cache, 10), { firstSeq: 65_534, count: 4 });
  });

  it('refuses a range longer than REPLAY_MAX_PACKETS', () => {
    const k = new CachedKeyframe();
    k.received(1000, 0, true, 0);
    for (let s = 1000; s <= 1000 + REPLAY_MAX_PACKETS; s++) {
      store(s);
      k.received(s, 0, false, 0);
    }
    assert.equal(k.replayRange(cache, 0), undefined);
  });
});
