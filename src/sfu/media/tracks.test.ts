import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { DownTrack } from './down-track.ts';
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

function setup(rids: string[] = ['q', 'h', 'f']) {
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
  const down = new DownTrack({ upTrack: up, ssrc: 0x5000, payloadType: 100, send: (p) => sent.push(p) });
  const feed = (buf: Buffer) => up.onRtp(buf, 20, buf.readUInt32BE(8));
  return { clock, plis, up, down, sent, feed };
}

describe('UpTrack + DownTrack', () => {
  it('forwards from the first keyframe of the best layer, rewritten (SSRC, PT, no extensions)', () => {
    const { up, sent, feed, plis } = setup();
    up.addLayer(111, 'q');
    up.addLayer(333, 'f');
    feed(vp8(333, 10, 1000, false));
    assert.equal(sent.length, 0, 'no keyframe yet: nothing forwarded');
    assert.equal(plis.at(-1), 333, 'a keyframe is requested from the best layer');
    feed(vp8(111, 50, 5000, true));
    assert.equal(sent.length, 0, 'a keyframe of another layer does not start the stream');
    feed(vp8(333, 11, 4000, true));
    feed(vp8(333, 12, 7000, false));
    assert.equal(sent.length, 2);
    const out = sent[0]!;
    assert.equal(out[0], 0x80, 'version 2, no extension bit');
    assert.equal(out[1]! & 0x7f, 100);
    assert.equal(out.readUInt32BE(8), 0x5000);
    assert.equal(out.length, 12 + 10, 'extension stripped, payload kept');
    assert.equal(out[12], 0x10);
    assert.equal(sent[1]!.readUInt16BE(2), out.readUInt16BE(2) + 1);
  });

  it('switches layer only at a keyframe of the target, with continuous sequence numbers', () => {
    const { up, down, sent, feed, plis, clock } = setup();
    up.addLayer(111, 'q');
    up.addLayer(333, 'f');
    feed(vp8(333, 100, 9000, true));
    feed(vp8(333, 101, 12_000, false));
    down.setTargetSsrc(111);
    // 111 was asked for a keyframe when it appeared: the repeat waits out the 500 ms throttle.
    clock.advance(500);
    assert.equal(plis.at(-1), 111);
    feed(vp8(111, 7, 500, false));
    feed(vp8(333, 102, 15_000, false));
    assert.equal(down.currentSsrc, 333, 'still on the old layer until the keyframe');
    feed(vp8(111, 8, 800, true));
    assert.equal(down.currentSsrc, 111);
    const seqs = sent.map((p) => p.readUInt16BE(2));
    assert.deepEqual(seqs, [100, 101, 102, 103]);
    const ts = sent.map((p) => p.readUInt32BE(4));
    assert.ok(ts[3]! > ts[2]!, 'timestamps keep moving forward across the switch');
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

  it('translates the publisher sender report into the subscriber timestamp space', () => {
    const { up, down, feed } = setup([]);
    up.addLayer(222, undefined);
    feed(vp8(222, 1, 1_000_000, true));
    up.onSenderReport(222, 1234, 999_000);
    assert.deepEqual(down.senderReport(), { ntpMs: 1234, rtpTimestamp: 999_000 });
  });

  it('close() unbinds the DownTrack from its UpTrack', () => {
    const { up, down, sent, feed } = setup([]);
    up.addLayer(222, undefined);
    down.close();
    feed(vp8(222, 1, 0, true));
    assert.equal(sent.length, 0);
    assert.equal(up.sinks.size, 0);
  });
});
