import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeTwcc } from '../../src/rtp/rtcp.ts';
import { findHeaderExtension } from '../../src/rtp/rtp-extensions.ts';
import { ManualClock } from '../fakes/manual-clock.ts';
import {
  fakeTransport,
  simulcastUpTrack,
  subscription,
  TWCC_ID_PUB,
  TWCC_ID_SUB,
  upTrack,
  vp8,
} from '../support/qos-rig.ts';

describe('QoS wiring: Subscription bandwidth estimate from transport-cc', () => {
  it('Subscription stamps transport-wide sequence numbers on every packet, across its down tracks', () => {
    const clock = new ManualClock();
    const { transport, rtp } = fakeTransport();
    const sub = subscription(transport, clock);
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
    const sub = subscription(transport, clock);
    const up = simulcastUpTrack(clock);
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
});
