import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DownTrack } from '../../src/sfu/media/down-track.ts';
import { UpTrack } from '../../src/sfu/media/up-track.ts';
import { ManualClock } from '../fakes/manual-clock.ts';
import { pictureIdOf, upTrack, vp8, vp9 } from '../support/qos-rig.ts';

describe('QoS wiring: DownTrack and UpTrack forwarding decisions', () => {
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
