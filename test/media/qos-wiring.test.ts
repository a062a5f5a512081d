import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ParticipantId } from '../../src/lib/ids.ts';
import { mediaCounters, setMediaCounting } from '../../src/lib/media-counters.ts';
import { MEDIA_HISTOGRAMS, mediaHistograms } from '../../src/lib/media-histograms.ts';
import { newVp8Descriptor, parseVp8 } from '../../src/rtp/codecs/vp8.ts';
import { buildRemb, writeReceiverReport, writeTwcc } from '../../src/rtp/rtcp.ts';
import { findHeaderExtension } from '../../src/rtp/rtp-extensions.ts';
import { DownTrack } from '../../src/sfu/media/down-track.ts';
import { Publisher } from '../../src/sfu/media/publisher.ts';
import { SubscriberBudget } from '../../src/sfu/media/subscriber-budget.ts';
import { Subscription } from '../../src/sfu/media/subscription.ts';
import { budgetFor } from '../../src/sfu/media/subscription-allocation.ts';
import { UpTrack } from '../../src/sfu/media/up-track.ts';
import { LayerAllocator } from '../../src/sfu/qos/layer-allocator.ts';
import type { WebRtcTransport } from '../../src/transport/webrtc-transport.ts';
import { ManualClock } from '../fakes/manual-clock.ts';
import { TWCC_EXTENSION, vp8UpTrack } from '../fakes/vp8-up-track.ts';

const TWCC_ID_PUB = 5;
const TWCC_ID_SUB = 7;

/**
 * A VP8 RTP packet with a one-byte-header extension block holding transport-cc (publisher id 5),
 * and a full payload descriptor: 15-bit picture id, TL0PICIDX, TID/Y; `key` makes it a keyframe.
 */
function vp8(
  ssrc: number,
  seq: number,
  ts: number,
  o: {
    key?: boolean;
    pictureId: number;
    tl0?: number;
    tid?: number;
    sync?: boolean;
    marker?: boolean;
    size?: number;
  },
): Buffer {
  const payload = o.size ?? 100;
  const b = Buffer.alloc(12 + 8 + 6 + payload);
  b[0] = 0x90;
  b[1] = 96 | (o.marker === false ? 0 : 0x80);
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(ssrc, 8);
  b.writeUInt16BE(0xbede, 12);
  b.writeUInt16BE(1, 14);
  b[16] = (TWCC_ID_PUB << 4) | 1;
  b.writeUInt16BE(seq, 17);
  const d = 20;
  b[d] = 0x90; // X, S
  b[d + 1] = 0xe0; // I, L, T
  b[d + 2] = 0x80 | ((o.pictureId >> 8) & 0x7f);
  b[d + 3] = o.pictureId & 0xff;
  b[d + 4] = o.tl0 ?? 0;
  b[d + 5] = ((o.tid ?? 0) << 6) | (o.sync ? 0x20 : 0);
  b[d + 6] = o.key ? 0x00 : 0x01;
  return b;
}

/** A VP9 packet (RFC 9628) of one spatial layer: 15-bit picture id, layer indices, TL0PICIDX. */
function vp9(
  seq: number,
  ts: number,
  o: { sid: number; tid?: number; inter: boolean; pictureId: number; marker: boolean },
): Buffer {
  const b = Buffer.alloc(12 + 5 + 50);
  b[0] = 0x80;
  b[1] = 98 | (o.marker ? 0x80 : 0);
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(4242, 8);
  // I, P, L, B, E: each packet is a whole layer frame.
  b[12] = 0x80 | (o.inter ? 0x40 : 0) | 0x20 | 0x08 | 0x04;
  b[13] = 0x80 | ((o.pictureId >> 8) & 0x7f);
  b[14] = o.pictureId & 0xff;
  b[15] = ((o.tid ?? 0) << 5) | (o.sid << 1) | (o.sid > 0 ? 1 : 0);
  b[16] = 0;
  return b;
}

function fakeTransport() {
  const rtp: Buffer[] = [];
  const rtcp: Buffer[] = [];
  const t = {
    state: 'connected',
    onRtcp: null as ((p: Buffer) => void) | null,
    onRtp: null as unknown,
    sendRtp: (p: Buffer) => rtp.push(Buffer.from(p)),
    rtpBuffer: (bytes: number) => Buffer.alloc(bytes + 16),
    sendRtpInPlace: (p: Buffer, length: number) => rtp.push(Buffer.from(p.subarray(0, length))),
    sendRtcp: (p: Buffer) => rtcp.push(Buffer.from(p)),
    close: () => undefined,
    readArrivalUs: (out: Float64Array) => {
      out[0] = performance.now() * 1000;
    },
  };
  return { transport: t as unknown as WebRtcTransport, t, rtp, rtcp };
}

function upTrack(clock: ManualClock, rids: string[], plis: number[] = [], wanted: unknown[] = []) {
  return vp8UpTrack({
    rids,
    headerExtensions: [TWCC_EXTENSION],
    clock,
    sendPli: (ssrc) => plis.push(ssrc),
    onLayersWanted: (quality, count) => wanted.push([quality, count]),
  });
}

/** A subscription forwarding one single-layer VP8 track (publisher SSRC 111, ours 0x5000). */
function oneLayerSubscription() {
  const clock = new ManualClock();
  const { transport, t } = fakeTransport();
  const sub = new Subscription({
    subscriberId: 's' as ParticipantId,
    targetId: 'p' as ParticipantId,
    transport,
    clock,
  });
  const up = upTrack(clock, ['q']);
  up.addLayer(111, 'q');
  sub.addTrack(up, { ssrc: 0x5000, payloadType: 96 });
  return { clock, t, sub, up };
}

const descriptor = newVp8Descriptor();
function pictureIdOf(p: Buffer): number {
  const at = 12 + (p[0]! & 0x10 ? 4 + p.readUInt16BE(14) * 4 : 0);
  assert.ok(parseVp8(p, descriptor, at, p.length));
  return descriptor.pictureId;
}

describe('QoS wiring: DownTrack, UpTrack, Subscription', () => {
  it('drops temporal layers above the target: sequence numbers and VP8 picture ids stay continuous', () => {
    const clock = new ManualClock();
    const up = upTrack(clock, []);
    up.addLayer(1000, undefined);
    const sent: Buffer[] = [];
    const down = new DownTrack({ upTrack: up, ssrc: 0x5000, payloadType: 96, send: (p) => sent.push(p) });
    // T0 T2 T1 T2 pattern, one packet per frame.
    const tids = [0, 2, 1, 2, 0, 2, 1, 2, 0];
    down.setTarget({ spatial: 0, temporal: 0 });
    tids.forEach((tid, i) => {
      up.onRtp(
        vp8(1000, 100 + i, 3000 * i, { key: i === 0, pictureId: 500 + i, tid, tl0: 7 + Math.floor(i / 4) }),
        20,
        1000,
      );
    });
    assert.deepEqual(
      sent.map((p) => p.readUInt16BE(2)),
      [100, 101, 102],
      'three T0 frames, no gaps',
    );
    assert.deepEqual(sent.map(pictureIdOf), [500, 501, 502], 'picture ids without the dropped pictures');
    assert.equal(down.dropped, 6);
    assert.deepEqual(down.current, { spatial: 0, temporal: 0 });
  });

  it('switches simulcast layers at a keyframe with a keyframe request; picture ids continue across sources', () => {
    const clock = new ManualClock();
    const plis: number[] = [];
    const up = upTrack(clock, ['q', 'h', 'f'], plis);
    up.addLayer(111, 'q');
    up.addLayer(333, 'f');
    const sent: Buffer[] = [];
    const down = new DownTrack({ upTrack: up, ssrc: 0x5000, payloadType: 96, send: (p) => sent.push(p) });
    const feed = (b: Buffer) => up.onRtp(b, 20, b.readUInt32BE(8));
    down.setTarget({ spatial: 0, temporal: 7 });
    feed(vp8(111, 10, 0, { key: true, pictureId: 9000 }));
    feed(vp8(333, 50, 0, { key: true, pictureId: 20 }));
    feed(vp8(111, 11, 3000, { pictureId: 9001 }));
    assert.equal(down.currentSsrc, 111, 'a keyframe above the target is not taken');
    plis.length = 0;
    clock.advance(600);
    down.setTarget({ spatial: 2, temporal: 7 });
    assert.deepEqual(plis, [333], 'going up asks the target layer for a keyframe at once');
    feed(vp8(333, 51, 3000, { pictureId: 21 }));
    feed(vp8(111, 12, 6000, { pictureId: 9002 }));
    assert.equal(down.currentSsrc, 111, 'no switch before the keyframe');
    feed(vp8(333, 52, 6000, { key: true, pictureId: 22 }));
    feed(vp8(333, 53, 9000, { pictureId: 23 }));
    assert.equal(down.currentSsrc, 333);
    assert.equal(down.switches, 2);
    assert.deepEqual(
      sent.map((p) => p.readUInt16BE(2)),
      [10, 11, 12, 13, 14],
    );
    assert.deepEqual(sent.map(pictureIdOf), [9000, 9001, 9002, 9003, 9004], 'picture ids continue at +1');
    // A NACK for the switched packet is answered with the rewritten picture id too.
    sent.length = 0;
    down.retransmit([13]);
    assert.equal(pictureIdOf(sent[0]!), 9003);
  });

  it('VP9 SVC in one SSRC: spatial layers above the target are dropped, the marker moves to the top one sent', () => {
    const clock = new ManualClock();
    const plis: number[] = [];
    const up = new UpTrack({
      trackId: 'cam',
      streamId: 'stream',
      mid: '0',
      kind: 'video',
      codec: { mimeType: 'video/VP9', payloadType: 98, clockRate: 90_000, fmtp: {} },
      rids: [],
      clock,
      sendPli: (ssrc) => plis.push(ssrc),
    });
    up.addLayer(4242, undefined);
    assert.equal(up.svc, true);
    const sent: Buffer[] = [];
    const down = new DownTrack({ upTrack: up, ssrc: 0x5000, payloadType: 98, send: (p) => sent.push(p) });
    down.setTarget({ spatial: 0, temporal: 7 });
    let seq = 0;
    const picture = (n: number, key: boolean) => {
      up.onRtp(vp9(seq++, n * 3000, { sid: 0, inter: !key, pictureId: n, marker: false }), 12, 4242);
      up.onRtp(vp9(seq++, n * 3000, { sid: 1, inter: !key, pictureId: n, marker: true }), 12, 4242);
    };
    picture(0, true);
    picture(1, false);
    assert.equal(sent.length, 2, 'only SID 0');
    assert.ok(
      sent.every((p) => (p[1]! & 0x80) !== 0),
      'the marker is on the end of SID 0',
    );
    assert.deepEqual(
      sent.map((p) => p.readUInt16BE(2)),
      [0, 1],
    );
    plis.length = 0;
    clock.advance(600);
    down.setTarget({ spatial: 1, temporal: 7 });
    assert.deepEqual(plis, [4242], 'going up asks for an intra picture');
    picture(2, false);
    assert.equal(sent.length, 3, 'still SID 0 until an intra picture');
    picture(3, true);
    assert.equal(sent.length, 5);
    assert.deepEqual(
      sent.map((p) => p.readUInt16BE(2)),
      [0, 1, 2, 3, 4],
      'no gap for the dropped SID 1 packets',
    );
    assert.equal((sent[3]![1]! & 0x80) !== 0, false, 'SID 0 no longer ends the picture');
    assert.equal((sent[4]![1]! & 0x80) !== 0, true);
  });

  it('per-layer and temporal bitrates measured by the UpTrack', () => {
    const clock = new ManualClock();
    const up = upTrack(clock, ['q', 'h']);
    up.addLayer(111, 'q');
    up.addLayer(222, 'h');
    for (let i = 0; i < 30; i++) {
      const tid = i % 2;
      up.onRtp(vp8(111, i, i * 3000, { pictureId: i, tid, size: 480 }), 20, 111);
      up.onRtp(vp8(222, i, i * 3000, { pictureId: i, tid: 0, size: 980 }), 20, 222);
      clock.advance(1000 / 30);
    }
    const rates = up.bitratesBps();
    assert.equal(rates.length, 2);
    const packet = (size: number) => (12 + 8 + 6 + size) * 8;
    // 15 packets per TID per second on layer 0; 30 on layer 1 (all TID 0).
    assert.ok(Math.abs(rates[0]![0]! - 15 * packet(480)) < 0.05 * 15 * packet(480), `${rates[0]}`);
    assert.ok(Math.abs(rates[0]![1]! - 30 * packet(480)) < 0.05 * 30 * packet(480), 'cumulative over TIDs');
    assert.ok(Math.abs(rates[1]![0]! - 30 * packet(980)) < 0.05 * 30 * packet(980));
  });

  it('Subscription stamps transport-wide sequence numbers on every packet, across its down tracks', () => {
    const clock = new ManualClock();
    const { transport, rtp } = fakeTransport();
    const sub = new Subscription({
      subscriberId: 's' as ParticipantId,
      targetId: 'p' as ParticipantId,
      transport,
      clock,
    });
    const up = upTrack(clock, []);
    up.addLayer(1000, undefined);
    const ids = new Uint8Array(256);
    ids[TWCC_ID_PUB] = TWCC_ID_SUB;
    sub.addTrack(up, { ssrc: 0x5000, payloadType: 96, extensionIds: ids });
    sub.addTrack(up, { ssrc: 0x6000, payloadType: 96, extensionIds: ids });
    for (let i = 0; i < 3; i++)
      up.onRtp(vp8(1000, 40 + i, i * 3000, { key: i === 0, pictureId: i }), 20, 1000);
    const range = { offset: 0, length: 0 };
    const seqs = rtp.map((p) => {
      assert.ok(findHeaderExtension(p, TWCC_ID_SUB, range));
      return p.readUInt16BE(range.offset);
    });
    assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5]);
    sub.close();
  });

  it('transport-cc feedback drives the estimate: congestion moves the target down, then a probe pads on RTX', () => {
    const clock = new ManualClock();
    const { transport, t, rtp } = fakeTransport();
    const sub = new Subscription({
      subscriberId: 's' as ParticipantId,
      targetId: 'p' as ParticipantId,
      transport,
      clock,
    });
    const up = upTrack(clock, ['q', 'h', 'f']);
    [111, 222, 333].forEach((ssrc, i) => {
      up.addLayer(ssrc, ['q', 'h', 'f'][i]);
    });
    const ids = new Uint8Array(256);
    ids[TWCC_ID_PUB] = TWCC_ID_SUB;
    const down = sub.addTrack(up, {
      ssrc: 0x5000,
      payloadType: 96,
      extensionIds: ids,
      rtx: { ssrc: 0x5001, payloadType: 97 },
    });
    sub.useRtx(new Set([0x5000]));
    const range = { offset: 0, length: 0 };
    const sentAt = new Map<number, number>();
    let seen = 0;
    let queueMs = 0;
    let frame = 0;
    const sizes = [300, 900, 1100];
    /** One second at 30 fps on each layer; feedback every 100 ms with one-way delay 20 ms + queue. */
    const second = (queueGrowthMsPerFeedback: number) => {
      for (let i = 0; i < 30; i++, frame++) {
        [111, 222, 333].forEach((ssrc, s) => {
          for (let k = 0; k < 2; k++)
            up.onRtp(
              vp8(ssrc, (frame * 2 + k) & 0xffff, frame * 3000, {
                key: frame % 60 === 0 && k === 0,
                pictureId: frame,
                size: sizes[s],
              }),
              20,
              ssrc,
            );
        });
        for (; seen < rtp.length; seen++) {
          if (findHeaderExtension(rtp[seen]!, TWCC_ID_SUB, range))
            sentAt.set(rtp[seen]!.readUInt16BE(range.offset), clock.nowMs());
        }
        if (i % 3 === 2) {
          queueMs = Math.max(0, queueMs + queueGrowthMsPerFeedback);
          const seqs = [...sentAt.keys()].sort((a, b) => a - b);
          if (seqs.length > 0) {
            const out = Buffer.alloc(1500);
            const n = writeTwcc(out, 0, {
              senderSsrc: 1,
              mediaSsrc: 0x5000,
              baseSeq: seqs[0]!,
              feedbackPacketCount: frame,
              arrivalsUs: seqs.map((q) => (sentAt.get(q)! + 20 + queueMs) * 1000),
            });
            sentAt.clear();
            if (n > 0) t.onRtcp!(out.subarray(0, n));
          }
        }
        clock.advance(1000 / 30);
      }
    };
    for (let k = 0; k < 4; k++) second(0);
    assert.ok(sub.estimateBps !== undefined, 'an estimate from transport-cc');
    assert.equal(down.target?.spatial, 2, `the top layer fits (${Math.round(sub.estimateBps!)} bps)`);
    // The queue grows by 15 ms per 100 ms: overuse.
    for (let k = 0; k < 3; k++) second(15);
    assert.ok(
      down.target!.spatial < 2,
      `target down to ${down.target!.spatial} (${Math.round(sub.estimateBps!)} bps)`,
    );
    const before = rtp.filter((p) => p.readUInt32BE(8) === 0x5001).length;
    // The queue drains and stays empty: a probe pads on RTX to test the way back up.
    for (let k = 0; k < 8; k++) second(-50);
    const padding = rtp.filter((p) => p.readUInt32BE(8) === 0x5001 && (p[0]! & 0x20) !== 0);
    assert.ok(padding.length > before, 'padding-only RTX packets were sent');
    assert.ok(sub.probesSent > 0);
    // The path carries everything: the probe clusters arrive as fast as they left, the estimate
    // steps up with them and the top layer comes back.
    for (let k = 0; k < 4 && down.target!.spatial < 2; k++) second(0);
    assert.ok(sub.probesSucceeded > 0, `probes: ${sub.probesSucceeded} of ${sub.probesSent} succeeded`);
    assert.equal(down.target!.spatial, 2, `back to the top layer (${Math.round(sub.estimateBps!)} bps)`);
    sub.close();
  });

  it('budgetFor: bandwidth alone never pauses video, even when the lowest layer measures above a higher one', () => {
    const track = (bitratesBps: number[][], paused = false) => ({
      trackId: 'p/cam',
      paused,
      visible: true,
      preferred: { spatial: 2, temporal: 0 },
      bitratesBps,
    });
    // A keyframe-heavy lowest layer (keyframes asked for on a congested link) can out-measure 'h'.
    const input = { video: [], tracks: [track([[378_000], [322_000], [530_000]])], audioTracks: 1 };
    assert.equal(budgetFor(130_000, [input]), 378_000, 'the first rung, not the smallest figure');
    assert.equal(budgetFor(1_000_000, [input]), 950_000, '50 kbps per audio track off a larger estimate');
    const paused = { video: [], tracks: [track([[100_000]], true)], audioTracks: 0 };
    assert.equal(budgetFor(10_000, [paused]), 10_000, 'a paused track needs no floor');
    const allocation = new LayerAllocator().allocate(budgetFor(130_000, [input]), input.tracks);
    assert.ok(allocation.tracks[0]!.target.spatial >= 0, 'not paused');
    assert.ok(allocation.usedBps <= 378_000);
  });

  it("a subscriber's connections share one budget: the active speaker's camera is served first, whoever publishes it", () => {
    const clock = new ManualClock();
    const budget = new SubscriberBudget({ subscriberId: 's' as ParticipantId, onEmpty: () => undefined });
    const sizes = [200, 600, 1100];
    const peers = ['p1', 'p2'].map((id) => {
      const { transport, t } = fakeTransport();
      const sub = new Subscription({
        subscriberId: 's' as ParticipantId,
        targetId: id as ParticipantId,
        transport,
        clock,
      });
      budget.add(sub);
      const up = upTrack(clock, ['q', 'h', 'f']);
      [111, 222, 333].forEach((ssrc, i) => {
        up.addLayer(ssrc, ['q', 'h', 'f'][i]);
      });
      const down = sub.addTrack(up, { ssrc: 0x5000, payloadType: 96 });
      return { id, sub, t, up, down };
    });
    let frame = 0;
    const feedSecond = () => {
      for (let i = 0; i < 30; i++, frame++) {
        for (const { up } of peers)
          [111, 222, 333].forEach((ssrc, s) => {
            up.onRtp(
              vp8(ssrc, frame & 0xffff, frame * 3000, {
                key: frame % 30 === 0,
                pictureId: frame,
                size: sizes[s],
              }),
              20,
              ssrc,
            );
          });
        clock.advance(1000 / 30);
      }
    };
    feedSecond();
    const rates = peers[0]!.up.bitratesBps().map((row) => row.at(-1)!);
    // Room for one top layer (with the allocator's 10 % upgrade margin) and one lowest layer, split
    // evenly between the two connections' estimates: on their own, each would take the middle layer.
    const total = rates[2]! * 1.1 + rates[0]! + 20_000;
    for (const { t } of peers) t.onRtcp!(buildRemb(1, total / 2, [0x5000]));
    budget.setActiveSpeakers(new Set(['p2' as ParticipantId]));
    budget.allocate();
    assert.deepEqual(
      peers.map((p) => p.down.target?.spatial),
      [0, 2],
      `the speaker p2 gets the top layer (layers ${rates.join('/')} bps, total ${total})`,
    );
    budget.setActiveSpeakers(new Set(['p1' as ParticipantId]));
    budget.allocate();
    assert.deepEqual(
      peers.map((p) => p.down.target?.spatial),
      [2, 0],
      'the speaker changed: so do the layers',
    );
    let inputs = 0;
    for (const { sub } of peers) {
      const own = sub.allocationInput.bind(sub);
      sub.allocationInput = (activeSpeaker: boolean) => {
        inputs++;
        return own(activeSpeaker);
      };
    }
    clock.advance(1000);
    assert.equal(inputs, 2, 'one allocation a second for the subscriber, not one per connection');
    peers[0]!.sub.close();
    assert.equal(budget.size, 1, 'a closed connection leaves the budget');
    peers[1]!.sub.close();
    assert.equal(budget.size, 0);
  });

  it("the worker's quality histograms: each receiver report block counts loss and jitter, the periodic allocation the estimate once a second", () => {
    const { clock, t, sub, up } = oneLayerSubscription();
    const before = {
      lost: mediaHistograms.fractionLost.snapshot(),
      jitter: mediaHistograms.jitter.snapshot(),
      estimate: mediaHistograms.estimate.snapshot(),
      ratio: mediaHistograms.estimateRatio.snapshot(),
    };
    const rr = Buffer.alloc(32);
    const block = { fractionLost: 26, cumulativeLost: 3, highestSeq: 100, lastSr: 0, delaySinceLastSr: 0 };
    // 26/256 ≈ 10.2 % lost, jitter 900 ticks of 90 kHz = 10 ms; one block for a stream not sent here.
    writeReceiverReport(rr, 0, { ssrc: 1, reports: [{ ...block, ssrc: 0x5000, jitter: 900 }] });
    t.onRtcp!(rr);
    writeReceiverReport(rr, 0, { ssrc: 1, reports: [{ ...block, ssrc: 0x9999, jitter: 900 }] });
    t.onRtcp!(rr);
    const lost = mediaHistograms.fractionLost.snapshot();
    assert.equal(lost.count - before.lost.count, 1, 'one block about a stream we send');
    assert.ok(Math.abs(lost.sum - before.lost.sum - 26 / 256) < 1e-12);
    const le02 = MEDIA_HISTOGRAMS.fractionLost.bounds.indexOf(0.2);
    assert.equal(lost.counts[le02]! - before.lost.counts[le02]!, 1, '10.2 % lands in the 0.2 bucket');
    const jitter = mediaHistograms.jitter.snapshot();
    assert.ok(Math.abs(jitter.sum - before.jitter.sum - 0.01) < 1e-12);
    t.onRtcp!(buildRemb(1, 2_000_000, [0x5000]));
    for (let i = 0; i < 90; i++) {
      up.onRtp(vp8(111, i, i * 3000, { key: i === 0, pictureId: i, size: 400 }), 20, 111);
      clock.advance(1000 / 30);
    }
    const estimate = mediaHistograms.estimate.snapshot();
    const ratio = mediaHistograms.estimateRatio.snapshot();
    assert.equal(estimate.count - before.estimate.count, 3, 'once a second, not per packet or per feedback');
    assert.equal(estimate.sum - before.estimate.sum, 6_000_000);
    assert.equal(ratio.count - before.ratio.count, 3);
    // The lowest layer takes about 400 bytes × 30/s ≈ 0.1 Mbit/s (plus audio none): far below 2 Mbit/s.
    assert.ok((ratio.sum - before.ratio.sum) / 3 > 5, 'the estimate is several times what is allocated');
    sub.close();
  });

  it('with the media counting off (BBMEET_MEDIA_COUNTERS=0), forwarding, feedback and reports count nothing', () => {
    const { clock, t, sub, up } = oneLayerSubscription();
    const rr = Buffer.alloc(32);
    writeReceiverReport(rr, 0, {
      ssrc: 1,
      reports: [
        {
          ssrc: 0x5000,
          fractionLost: 26,
          cumulativeLost: 3,
          highestSeq: 9,
          jitter: 900,
          lastSr: 0,
          delaySinceLastSr: 0,
        },
      ],
    });
    const run = (from: number) => {
      t.onRtcp!(rr);
      t.onRtcp!(buildRemb(1, 2_000_000, [0x5000]));
      for (let i = from; i < from + 60; i++) {
        up.onRtp(vp8(111, i, i * 3000, { key: i === 0, pictureId: i, size: 400 }), 20, 111);
        clock.advance(1000 / 30);
      }
    };
    const counted = () => [
      mediaCounters.forwardedPackets,
      mediaHistograms.fractionLost.snapshot().count,
      mediaHistograms.estimate.snapshot().count,
    ];
    const before = counted();
    setMediaCounting(false);
    try {
      run(0);
    } finally {
      setMediaCounting(true);
    }
    assert.deepEqual(counted(), before, 'nothing counted while off');
    run(60);
    const after = counted();
    assert.ok(
      after.every((n, i) => n > before[i]!),
      `counted again once on: ${before} → ${after}`,
    );
    sub.close();
  });

  it('REMB-only subscriber: a low estimate moves the target to the lowest layer, a high one back up', () => {
    const clock = new ManualClock();
    const { transport, t } = fakeTransport();
    const sub = new Subscription({
      subscriberId: 's' as ParticipantId,
      targetId: 'p' as ParticipantId,
      transport,
      clock,
    });
    const up = upTrack(clock, ['q', 'h', 'f']);
    up.addLayer(111, 'q');
    up.addLayer(222, 'h');
    up.addLayer(333, 'f');
    const down = sub.addTrack(up, { ssrc: 0x5000, payloadType: 96 });
    const sizes = [200, 600, 1100];
    const feedSecond = () => {
      for (let i = 0; i < 30; i++) {
        [111, 222, 333].forEach((ssrc, s) => {
          up.onRtp(vp8(ssrc, i, i * 3000, { key: i === 0, pictureId: i, size: sizes[s] }), 20, ssrc);
        });
        clock.advance(1000 / 30);
      }
    };
    feedSecond();
    assert.equal(down.target?.spatial, 7, 'no estimate yet: the target is the preferred layer');
    t.onRtcp!(buildRemb(1, 150_000, [0x5000]));
    feedSecond();
    // The switch waits for a keyframe of the lowest layer (each second starts with keyframes).
    feedSecond();
    assert.deepEqual(down.target, { spatial: 0, temporal: 0 }, '150 kbps holds only the lowest layer');
    assert.equal(down.current?.spatial, 0);
    t.onRtcp!(buildRemb(1, 5_000_000, [0x5000]));
    feedSecond();
    feedSecond();
    assert.equal(down.target?.spatial, 2);
    assert.equal(down.current?.spatial, 2);
    sub.close();
  });

  it('the screen share is served first: under a tight estimate it keeps its top layer, the camera its lowest', () => {
    for (const screenTrackId of ['screen', 'cam']) {
      const clock = new ManualClock();
      const { transport, t } = fakeTransport();
      const sub = new Subscription({
        subscriberId: 's' as ParticipantId,
        targetId: 'p' as ParticipantId,
        transport,
        clock,
        isScreenShare: (trackId) => trackId === screenTrackId,
      });
      const ups = ['cam', 'screen'].map((trackId, n) => {
        const up = new UpTrack({
          trackId,
          streamId: 'stream',
          mid: String(n),
          kind: 'video',
          codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} },
          rids: ['q', 'h', 'f'],
          clock,
          sendPli: () => undefined,
        });
        ['q', 'h', 'f'].forEach((rid, s) => {
          up.addLayer(100 * (n + 1) + s, rid);
        });
        return up;
      });
      const downs = ups.map((up, n) => sub.addTrack(up, { ssrc: 0x5000 + n, payloadType: 96 }));
      // About 48, 144 and 264 kbit/s per layer: 380 kbit/s holds one top layer and one lowest.
      const sizes = [200, 600, 1100];
      const feedSecond = () => {
        for (let i = 0; i < 30; i++) {
          ups.forEach((up, n) => {
            for (let s = 0; s < 3; s++) {
              const ssrc = 100 * (n + 1) + s;
              up.onRtp(vp8(ssrc, i, i * 3000, { key: i === 0, pictureId: i, size: sizes[s] }), 20, ssrc);
            }
          });
          clock.advance(1000 / 30);
        }
      };
      feedSecond();
      t.onRtcp!(buildRemb(1, 380_000, [0x5000, 0x5001]));
      feedSecond();
      feedSecond();
      const [cam, screen] = downs.map((d) => d.target?.spatial);
      if (screenTrackId === 'screen') assert.deepEqual([cam, screen], [0, 2], 'screen share first');
      else assert.deepEqual([cam, screen], [2, 0], 'the camera marked as the screen share wins instead');
      sub.close();
    }
  });

  it('setPreferredQuality sets preferred, reaches Dynacast and Publisher.onLayersWanted', () => {
    const clock = new ManualClock();
    const wanted: unknown[] = [];
    const up = upTrack(clock, ['q', 'h', 'f'], [], wanted);
    const a = new Subscription({
      subscriberId: 'a' as ParticipantId,
      targetId: 'p' as ParticipantId,
      transport: fakeTransport().transport,
      clock,
    });
    const b = new Subscription({
      subscriberId: 'b' as ParticipantId,
      targetId: 'p' as ParticipantId,
      transport: fakeTransport().transport,
      clock,
    });
    const downA = a.addTrack(up, { ssrc: 1, payloadType: 96 });
    b.addTrack(up, { ssrc: 2, payloadType: 96 });
    assert.deepEqual(wanted.at(-1), [3, 2], 'both want the top layer');
    assert.equal(a.setPreferredQuality('cam', 1), true);
    assert.deepEqual(downA.preferred, { spatial: 0, temporal: 7 });
    assert.equal(b.setPreferredQuality('cam', 2), true);
    clock.advance(6000);
    assert.deepEqual(wanted.at(-1), [2, 2], 'top layer stops after the delay: medium is the most wanted');
    b.setPreferredQuality('cam', 0);
    assert.deepEqual(wanted.at(-1), [2, 1], 'one subscriber left wanting');
    clock.advance(6000);
    assert.deepEqual(wanted.at(-1), [1, 1]);
    a.setPreferredQuality('cam', 3);
    assert.deepEqual(wanted.at(-1), [3, 1], 'wanted again: resumes at once');
    assert.equal(a.setPreferredQuality('nope', 3), false);
    a.close();
    b.close();
  });

  it('Publisher asks for what the publisher lost (NACK) and puts its RTX repairs back into the stream', () => {
    const clock = new ManualClock();
    const { transport, t, rtcp } = fakeTransport();
    const publisher = new Publisher({
      participantId: 'p' as ParticipantId,
      transport,
      clock,
      mediaState: {} as never,
      totalTracks: 1,
      onReady: () => undefined,
    });
    const [up] = publisher.addTracks([
      {
        mid: '0',
        kind: 'video',
        trackId: 'cam',
        streamId: 's',
        codec: { mimeType: 'video/VP8', payloadType: 96, rtxPayloadType: 97, clockRate: 90_000, fmtp: {} },
        ssrcs: [0x1111],
        rids: [],
        headerExtensions: [],
      },
    ]);
    const seen: number[] = [];
    up!.sinks.add({ writeRtp: (p: { sequenceNumber: number }) => seen.push(p.sequenceNumber) } as never);
    const packets = [1, 2, 3, 4, 5].map((seq) =>
      vp8(0x1111, seq, seq * 3000, { key: seq === 1, pictureId: seq }),
    );
    const lostAt = clock.nowMs();
    const deliver = t.onRtp as (p: Buffer) => void;
    for (const p of [packets[0]!, packets[1]!, packets[4]!]) deliver(p);
    assert.deepEqual(seen, [1, 2, 5]);
    clock.advance(25);
    const nack = rtcp.at(-1)!;
    assert.equal(nack[1], 205, 'an RTPFB');
    assert.equal(nack[0]! & 0x1f, 1, 'generic NACK');
    assert.equal(nack.readUInt32BE(8), 0x1111);
    assert.equal(nack.readUInt16BE(12), 3, 'from sequence number 3');
    assert.equal(nack.readUInt16BE(14), 0b1, 'and 4');
    // The publisher resends 3 and 4 on its RTX stream: original sequence number first (RFC 4588).
    for (const [i, lost] of [packets[2]!, packets[3]!].entries()) {
      const rtx = Buffer.concat([lost.subarray(0, 20), Buffer.from([0, 3 + i]), lost.subarray(20)]);
      rtx[1] = (lost[1]! & 0x80) | 97;
      rtx.writeUInt16BE(500 + i, 2);
      rtx.writeUInt32BE(0x2222, 8);
      deliver(rtx);
    }
    assert.deepEqual(seen, [1, 2, 5, 3, 4], 'repaired, in the original stream');
    assert.equal(publisher.repaired, 2);
    // Probe padding over RTX carrying a packet already here: dropped, not forwarded twice.
    const copy = Buffer.concat([packets[4]!.subarray(0, 20), Buffer.from([0, 5]), packets[4]!.subarray(20)]);
    copy[1] = (packets[4]![1]! & 0x80) | 97;
    copy.writeUInt16BE(502, 2);
    copy.writeUInt32BE(0x2222, 8);
    deliver(copy);
    assert.deepEqual(seen, [1, 2, 5, 3, 4]);
    assert.equal(publisher.duplicates, 1);
    const sentBefore = rtcp.length;
    clock.advance(100);
    assert.equal(rtcp.filter((p, i) => i >= sentBefore && p[1] === 205).length, 0, 'nothing more to ask');
    assert.equal(up!.lastUpstreamLossMs, lostAt, 'the loss is known to the track');
    publisher.close();
  });

  it('Publisher exposes onLayersWanted with the track id', () => {
    const clock = new ManualClock();
    const { transport } = fakeTransport();
    const publisher = new Publisher({
      participantId: 'p' as ParticipantId,
      transport,
      clock,
      mediaState: {} as never,
      totalTracks: 1,
      onReady: () => undefined,
    });
    const calls: unknown[] = [];
    publisher.onLayersWanted = (trackId, quality, count) => calls.push([trackId, quality, count]);
    const [up] = publisher.addTracks([
      {
        mid: '0',
        kind: 'video',
        trackId: 'cam-1',
        streamId: 's',
        codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} },
        ssrcs: [],
        rids: ['q', 'h', 'f'],
        headerExtensions: [],
      },
    ]);
    up!.setSubscriberWish('x', 1);
    assert.deepEqual(calls.at(-1), ['cam-1', 3, 1]);
    clock.advance(6000);
    assert.deepEqual(calls.at(-1), ['cam-1', 2, 1]);
    publisher.close();
  });

  it('NACKs under 5 % loss: every lost packet still in the cache is retransmitted', () => {
    const clock = new ManualClock();
    const up = upTrack(clock, []);
    up.addLayer(1000, undefined);
    const delivered = new Set<number>();
    let lost: number[] = [];
    let n = 0;
    const down = new DownTrack({
      upTrack: up,
      ssrc: 0x5000,
      payloadType: 96,
      send: (p) => {
        // Deterministic 5 %: every 20th packet of the first sending is lost.
        const seq = p.readUInt16BE(2);
        if (++n % 20 === 0 && !delivered.has(seq) && !lost.includes(seq)) lost.push(seq);
        else delivered.add(seq);
      },
    });
    for (let i = 0; i < 1000; i++) {
      up.onRtp(vp8(1000, i, i * 3000, { key: i === 0, pictureId: i }), 20, 1000);
      if (i % 10 === 9 && lost.length > 0) {
        const nack = lost;
        lost = [];
        down.retransmit(nack);
      }
    }
    const missing = [...Array(1000).keys()].filter((s) => !delivered.has(s));
    // 50 first losses, and some retransmissions lost in turn and asked for again.
    assert.ok(down.retransmitted >= 50 && down.retransmitted < 60, `${down.retransmitted}`);
    assert.deepEqual(missing, [], 'all repaired');
  });
});
