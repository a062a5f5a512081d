import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { DownTrack } from './down-track.ts';
import type { DownTrackOptions } from './down-track-options.ts';
import { UpTrack } from './up-track.ts';

/** A VP8 RTP packet with a one-byte-header extension; `key` makes it a keyframe start. */
function vp8(ssrc: number, seq: number, ts: number, key: boolean): Buffer {
  const b = Buffer.alloc(12 + 8 + 10);
  b[0] = 0x90;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(ssrc, 8);
  b.writeUInt16BE(0xbede, 12);
  b.writeUInt16BE(1, 14);
  b.writeUInt32BE(0x10ab0000, 16);
  b[20] = 0x10;
  b[21] = key ? 0x00 : 0x01;
  return b;
}

function setup(
  rids: string[] = ['q', 'h', 'f'],
  extra: Pick<DownTrackOptions, 'rtx' | 'extensionIds' | 'absSendTimeId'> = {},
) {
  const clock = new ManualClock();
  const plis: number[] = [];
  const up = new UpTrack({
    trackId: 'cam',
    streamId: 'stream',
    mid: '1',
    kind: 'video',
    codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} },
    rids,
    clock,
    sendPli: (ssrc) => plis.push(ssrc),
  });
  const sent: Buffer[] = [];
  const down = new DownTrack({
    upTrack: up,
    ssrc: 0x5000,
    payloadType: 100,
    send: (p) => sent.push(p),
    ...extra,
  });
  const feed = (buf: Buffer) => up.onRtp(buf, 20, buf.readUInt32BE(8));
  return { clock, plis, up, down, sent, feed };
}

describe('UpTrack + DownTrack', () => {
  it('starts at the first keyframe of a layer up to the target, goes up at the best layer keyframe (SSRC, PT, no extensions)', () => {
    const { up, sent, feed, plis, down } = setup();
    up.addLayer(111, 'q');
    up.addLayer(333, 'f');
    feed(vp8(333, 10, 1000, false));
    assert.equal(sent.length, 0, 'no keyframe yet: nothing forwarded');
    assert.equal(plis.at(-1), 333, 'a keyframe is requested from the best layer');
    feed(vp8(111, 50, 5000, true));
    assert.equal(sent.length, 1, 'a keyframe of a lower layer starts the stream rather than nothing');
    assert.equal(down.current?.spatial, 0);
    feed(vp8(333, 11, 4000, true));
    feed(vp8(333, 12, 7000, false));
    assert.equal(sent.length, 3);
    assert.equal(down.current?.spatial, 2, 'up at the keyframe of the best layer');
    const out = sent[1]!;
    assert.equal(out[0], 0x80, 'version 2, no extension bit');
    assert.equal(out[1]! & 0x7f, 100);
    assert.equal(out.readUInt32BE(8), 0x5000);
    assert.equal(out.length, 12 + 10, 'extension stripped, payload kept');
    assert.equal(out[12], 0x10);
    assert.deepEqual(
      sent.map((p) => p.readUInt16BE(2)),
      [50, 51, 52],
    );
  });

  it('switches layer only at a keyframe of the target, with continuous sequence numbers', () => {
    const { up, down, sent, feed, plis, clock } = setup();
    up.addLayer(111, 'q');
    up.addLayer(333, 'f');
    feed(vp8(333, 100, 9000, true));
    feed(vp8(333, 101, 12_000, false));
    down.setTarget({ spatial: 0, temporal: 7 });
    // The first request (for 333) was just sent: the next one waits out the 500 ms throttle.
    clock.advance(500);
    feed(vp8(333, 102, 12_000, false));
    assert.equal(plis.at(-1), 111);
    feed(vp8(111, 7, 500, false));
    feed(vp8(333, 103, 15_000, false));
    assert.equal(down.currentSsrc, 333, 'still on the old layer until the keyframe');
    feed(vp8(111, 8, 800, true));
    assert.equal(down.currentSsrc, 111);
    const seqs = sent.map((p) => p.readUInt16BE(2));
    assert.deepEqual(seqs, [100, 101, 102, 103, 104]);
    const ts = sent.map((p) => p.readUInt32BE(4));
    assert.ok(ts[4]! > ts[3]!, 'timestamps keep moving forward across the switch');
  });

  it('answers NACKs with the original payload under our sequence number; forgets unknown ones', () => {
    const { up, down, sent, feed } = setup([]);
    up.addLayer(222, undefined);
    feed(vp8(222, 1, 0, true));
    feed(vp8(222, 2, 3000, false));
    const lost = sent[1]!;
    sent.length = 0;
    down.retransmit([2, 99]);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0], lost);
    assert.equal(down.retransmitted, 1);
  });

  it('answers NACKs over RTX once the answer accepts it: RTX SSRC and payload type, OSN first', () => {
    const { clock, up, down, sent, feed } = setup([], { rtx: { ssrc: 0x6000, payloadType: 101 } });
    up.addLayer(222, undefined);
    feed(vp8(222, 1, 0, true));
    feed(vp8(222, 2, 3000, false));
    feed(vp8(222, 3, 3000, false));
    const lost = sent[1]!;
    sent.length = 0;
    down.retransmit([2]);
    assert.deepEqual(sent[0], lost, 'plain retransmission before the answer');
    down.rtxEnabled = true;
    clock.advance(100);
    down.retransmit([2, 3]);
    const [first, second] = sent.slice(1);
    assert.equal(first!.readUInt32BE(8), 0x6000);
    assert.equal(first![1]! & 0x7f, 101);
    assert.equal(first!.readUInt32BE(4), lost.readUInt32BE(4), 'same timestamp');
    assert.equal(first!.readUInt16BE(12), lost.readUInt16BE(2), 'the original sequence number');
    assert.deepEqual(first!.subarray(14), lost.subarray(12), 'then the original payload');
    assert.equal(second!.readUInt16BE(2), (first!.readUInt16BE(2) + 1) & 0xffff, 'RTX has its own sequence');
  });

  it('resends a packet at most once per interval and three times in all, then asks for a keyframe instead', () => {
    const { clock, up, down, sent, feed, plis } = setup([]);
    up.addLayer(222, undefined);
    feed(vp8(222, 1, 0, true));
    feed(vp8(222, 2, 3000, false));
    sent.length = 0;
    clock.advance(1000);
    const plisBefore = plis.length;
    down.retransmit([2], 200);
    down.retransmit([2], 200);
    assert.equal(sent.length, 1, 'asked again within the interval (round trip + queue): not resent');
    assert.equal(down.resendsSkipped, 1);
    clock.advance(200);
    down.retransmit([2], 200);
    clock.advance(200);
    down.retransmit([2], 200);
    assert.equal(sent.length, 3);
    assert.equal(plis.length, plisBefore, 'no keyframe asked while resending');
    clock.advance(200);
    down.retransmit([2], 200);
    assert.equal(sent.length, 3, 'not a fourth time');
    assert.equal(down.resendsGivenUp, 1);
    assert.equal(plis.at(-1), 222, 'the layer keyframe is asked for: that packet will never arrive');
  });

  it('an urgent down-switch stops the current layer at once until the target keyframe; a plain one keeps it', () => {
    for (const urgent of [false, true]) {
      const { up, down, sent, feed } = setup(['q', 'f']);
      up.addLayer(111, 'q');
      up.addLayer(333, 'f');
      feed(vp8(333, 10, 1000, true));
      assert.equal(down.current?.spatial, 1);
      down.setTarget({ spatial: 0, temporal: 3 }, urgent);
      sent.length = 0;
      feed(vp8(333, 11, 4000, false));
      feed(vp8(111, 50, 4000, false));
      assert.equal(sent.length, urgent ? 0 : 1, urgent ? 'current layer stopped' : 'current layer goes on');
      feed(vp8(111, 51, 7000, true));
      assert.equal(down.current?.spatial, 0, 'switched at the target keyframe');
      assert.equal(sent.at(-1)!.readUInt16BE(2), (sent.length === 1 ? 0 : 1) + sent[0]!.readUInt16BE(2));
      feed(vp8(111, 52, 10_000, false));
      assert.equal(sent.length, urgent ? 2 : 3, 'the target layer flows');
    }
  });

  it('maps forwarded header extensions to the subscriber ids, blanks the others, stamps abs-send-time', () => {
    const extensionIds = new Uint8Array(256);
    extensionIds[1] = 6; // video orientation: publisher id 1 → ours 6
    extensionIds[3] = 4; // abs-send-time: publisher id 3 → ours 4
    const { up, sent } = setup([], { extensionIds, absSendTimeId: 4 });
    up.addLayer(222, undefined);
    const p = Buffer.alloc(12 + 16 + 2);
    p[0] = 0x90;
    p[1] = 96;
    p.writeUInt32BE(222, 8);
    p.writeUInt16BE(0xbede, 12);
    p.writeUInt16BE(3, 14);
    // id 1 (1 byte) = 0x03, id 9 (2 bytes, not forwarded), id 3 (3 bytes) = publisher's time.
    Buffer.from([0x10, 0x03, 0x91, 0xaa, 0xbb, 0x32, 0x01, 0x02, 0x03]).copy(p, 16);
    p[28] = 0x10; // VP8 descriptor: start of a keyframe
    p[29] = 0x00;
    up.onRtp(p, 28, 222);
    const out = sent[0]!;
    assert.equal(out[0]! & 0x10, 0x10, 'extension bit kept');
    assert.equal(out.readUInt16BE(12), 0xbede);
    assert.deepEqual([...out.subarray(16, 18)], [0x60, 0x03], 'orientation under id 6');
    assert.deepEqual([...out.subarray(18, 21)], [0, 0, 0], 'the unmapped element became padding');
    assert.equal(out[21], 0x42, 'abs-send-time under id 4');
    const stamped = out.readUIntBE(22, 3);
    const nowUnits = Math.floor(performance.now() * 262.144) & 0xffffff;
    assert.ok(Math.abs(nowUnits - stamped) < 262_144, 'with our send time (within a second)');
    assert.deepEqual(out.subarray(28), p.subarray(28), 'payload untouched');
  });

  it('a malformed extension block is left out, the packet still forwarded', () => {
    const extensionIds = new Uint8Array(256);
    extensionIds[1] = 6;
    const { up, sent, feed } = setup([], { extensionIds });
    up.addLayer(222, undefined);
    const p = vp8(222, 1, 0, true);
    p[16] = 0x1f; // id 1 claiming 16 bytes inside a 4-byte block
    feed(p);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]![0], 0x80, 'no extension bit');
    assert.equal(sent[0]!.length, 12 + 10);
  });

  it('translates the publisher sender report into the subscriber timestamp space', () => {
    const { up, down, feed } = setup([]);
    up.addLayer(222, undefined);
    feed(vp8(222, 1, 1_000_000, true));
    up.onSenderReport(222, 1234, 999_000);
    assert.deepEqual(down.senderReport(), { ntpMs: 1234, rtpTimestamp: 999_000 });
  });

  it('a padding count larger than the payload (or 0) drops the packet, counted; valid padding is forwarded', () => {
    const { up, sent, feed, down } = setup([]);
    up.addLayer(222, undefined);
    const padded = (seq: number, count: number) => {
      const p = vp8(222, seq, seq * 3000, true);
      p[0] = p[0]! | 0x20;
      p[p.length - 1] = count;
      return p;
    };
    feed(padded(1, 11)); // 10 payload bytes after the 20-byte header: 11 claims more
    feed(padded(2, 0));
    assert.equal(sent.length, 0, 'neither reached a subscriber');
    assert.equal(up.packetsMalformed, 2);
    assert.equal(up.packetsReceived, 0);
    assert.equal(up.cached(222, 1), undefined, 'nor the NACK cache');
    feed(padded(3, 8));
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.length, 12 + 10);
    assert.equal(sent[0]![0]! & 0x20, 0x20, 'the padding goes on as it came');
    assert.equal(down.packetsSent, 1);
  });

  it('switchSource() forwards another track under the same SSRC from its keyframe on, sequence numbers continuing', () => {
    const { up, down, sent, feed, clock } = setup([]);
    up.addLayer(222, undefined);
    const plis: number[] = [];
    const other = new UpTrack({
      trackId: 'cam2',
      streamId: 'stream2',
      mid: '3',
      kind: 'video',
      codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} },
      rids: [],
      clock,
      sendPli: (ssrc) => plis.push(ssrc),
    });
    other.addLayer(444, undefined);
    const feedOther = (buf: Buffer) => other.onRtp(buf, 20, 444);
    feed(vp8(222, 1, 0, true));
    feed(vp8(222, 2, 3000, false));
    feedOther(vp8(444, 900, 70_000, false));
    down.switchSource(other, { extensionIds: new Uint8Array(256), absSendTimeId: 0 });
    assert.deepEqual([up.sinks.has(down), other.sinks.has(down), down.upTrack], [false, true, other]);
    feed(vp8(222, 3, 6000, false));
    feedOther(vp8(444, 901, 73_000, false));
    assert.equal(sent.length, 2, 'nothing of the old track, nothing of the new one before its keyframe');
    assert.equal(plis.at(-1), 444, "the new track's keyframe is asked for");
    feedOther(vp8(444, 902, 76_000, true));
    feedOther(vp8(444, 903, 79_000, false));
    assert.deepEqual(
      sent.map((p) => [p.readUInt32BE(8), p.readUInt16BE(2)]),
      [
        [0x5000, 1],
        [0x5000, 2],
        [0x5000, 3],
        [0x5000, 4],
      ],
    );
    assert.ok(sent[2]!.readUInt32BE(4) > sent[1]!.readUInt32BE(4), 'timestamps keep moving forward');
    const h264 = new UpTrack({
      trackId: 'cam3',
      streamId: 's3',
      mid: '4',
      kind: 'video',
      codec: { mimeType: 'video/H264', payloadType: 102, clockRate: 90_000, fmtp: {} },
      rids: [],
      clock,
      sendPli: () => undefined,
    });
    assert.throws(
      () => down.switchSource(h264, { extensionIds: new Uint8Array(256), absSendTimeId: 0 }),
      TypeError,
    );
    down.close();
    assert.equal(other.sinks.size, 0);
  });

  it('an operator mute withholds packets; the unmute continues the subscriber sequence without a gap and asks a keyframe', () => {
    const { up, down, sent, feed, plis } = setup([]);
    up.addLayer(222, undefined);
    feed(vp8(222, 1, 0, true));
    feed(vp8(222, 2, 3000, false));
    up.setMuted(true);
    for (let seq = 3; seq < 60; seq++) feed(vp8(222, seq, seq * 3000, false));
    assert.equal(sent.length, 2, 'nothing forwarded while muted');
    const asked = plis.length;
    up.setMuted(false);
    assert.equal(plis.length, asked + 1, 'a keyframe asked for at the unmute');
    feed(vp8(222, 60, 180_000, true));
    feed(vp8(222, 61, 183_000, false));
    assert.deepEqual(
      sent.map((p) => p.readUInt16BE(2)),
      [1, 2, 3, 4],
      'no gap the subscriber would NACK',
    );
    assert.equal(sent[2]!.readUInt32BE(4), 180_000, 'the pause shows in the timestamps');
    down.close();
  });

  it('close() unbinds the DownTrack from its UpTrack', () => {
    const { up, down, sent, feed } = setup([]);
    up.addLayer(222, undefined);
    down.close();
    feed(vp8(222, 1, 0, true));
    assert.equal(sent.length, 0);
    assert.equal(up.sinks.size, 0);
  });

  it('300 kbit/s cap freeze: an urgent down-switch asks for the target keyframe once the queue has drained, not into it', () => {
    const { up, down, sent, feed, plis, clock } = setup(['q', 'f']);
    up.addLayer(111, 'q');
    up.addLayer(333, 'f');
    feed(vp8(333, 10, 1000, true));
    assert.equal(down.current?.spatial, 1);
    sent.length = 0;
    // The capped link's queue takes 300 ms to drain at the new estimate.
    down.setTarget({ spatial: 0, temporal: 3 }, true, 300);
    feed(vp8(333, 11, 4000, false));
    feed(vp8(111, 50, 4000, true));
    assert.equal(sent.length, 0, 'neither the current layer nor a keyframe goes into the full queue');
    assert.ok(!plis.includes(111), 'no keyframe asked for while the queue drains');
    clock.advance(300);
    feed(vp8(333, 12, 7000, false));
    assert.equal(plis.at(-1), 111, 'drained: the target keyframe is asked for');
    feed(vp8(111, 51, 7000, true));
    assert.equal(down.current?.spatial, 0, 'switched at that keyframe');
    assert.equal(sent.length, 1);
  });
});
