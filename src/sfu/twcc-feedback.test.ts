import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RtcpIterator } from '../rtp/rtcp-common.ts';
import { parseTwcc, TwccStatus, twccReceiveTimesUs } from '../rtp/rtcp-twcc.ts';
import { TwccFeedback } from './twcc-feedback.ts';

function decode(out: Buffer, bytes: number) {
  const it = new RtcpIterator(out.subarray(0, bytes));
  assert.ok(it.next(), 'one RTCP packet');
  const fb = parseTwcc(out.subarray(0, bytes), it);
  assert.ok(fb, 'a valid transport-cc feedback');
  return fb;
}

describe('TwccFeedback', () => {
  it('reports every number since the last feedback: arrival times, and the missing ones as lost', () => {
    const twcc = new TwccFeedback({ senderSsrc: 1 });
    const out = Buffer.alloc(1500);
    twcc.record(100, 1_000_000, 0xaa);
    twcc.record(101, 1_001_000, 0xaa);
    twcc.record(103, 1_003_500, 0xbb);
    twcc.record(104, 1_030_000, 0xbb);
    const fb = decode(out, twcc.flush(out));
    assert.equal(fb.baseSeq, 100);
    assert.equal(fb.packetStatusCount, 5);
    assert.equal(fb.mediaSsrc, 0xbb);
    assert.equal(fb.feedbackPacketCount, 0);
    assert.equal(fb.statuses[3 - 1], TwccStatus.NotReceived, '102 never came');
    const times = twccReceiveTimesUs(fb);
    // Relative times survive the 250 µs quantisation.
    assert.equal(times[1]! - times[0]!, 1000);
    assert.equal(times[3]! - times[0]!, 3500);
    assert.equal(times[4]! - times[0]!, 30_000);
    assert.equal(twcc.flush(out), 0, 'nothing new: no feedback');
    twcc.record(105, 1_040_000, 0xbb);
    const next = decode(out, twcc.flush(out));
    assert.equal(next.baseSeq, 105);
    assert.equal(next.packetStatusCount, 1);
    assert.equal(next.feedbackPacketCount, 1, 'feedbacks are counted');
  });

  it('slot(): the caller writes the time itself, the media SSRC given signed or unsigned', () => {
    const twcc = new TwccFeedback({ senderSsrc: 1 });
    const out = Buffer.alloc(1500);
    const first = twcc.slot(7, 0x9e3779b1 | 0);
    twcc.arrivalsUs[first] = 5_000_000;
    const second = twcc.slot(8, 0x9e3779b1 | 0);
    twcc.arrivalsUs[second] = 5_002_000;
    const fb = decode(out, twcc.flush(out));
    assert.equal(fb.mediaSsrc, 0x9e3779b1);
    const times = twccReceiveTimesUs(fb);
    assert.equal(times[1]! - times[0]!, 2000);
    assert.equal(twcc.slot(7, 1), -1, 'reported already: too late to tell');
  });

  it('unwraps the 16-bit counter and takes reordered packets that are not reported yet', () => {
    const twcc = new TwccFeedback({ senderSsrc: 1 });
    const out = Buffer.alloc(1500);
    twcc.record(65_534, 0, 1);
    twcc.record(0, 2000, 1);
    twcc.record(65_535, 3000, 1);
    const fb = decode(out, twcc.flush(out));
    assert.equal(fb.baseSeq, 65_534);
    assert.equal(fb.packetStatusCount, 3);
    assert.deepEqual([...fb.statuses], [TwccStatus.SmallDelta, TwccStatus.SmallDelta, TwccStatus.LargeDelta]);
    // 65535 arrived after 0: a negative delta.
    const times = twccReceiveTimesUs(fb);
    assert.equal(times[1]! - times[0]!, 3000);
    assert.equal(times[2]! - times[1]!, -1000);
    twcc.record(65_533, 4000, 1);
    twcc.record(1, 5000, 1);
    const late = decode(out, twcc.flush(out));
    assert.equal(late.baseSeq, 1, 'a number reported already is not reported again');
  });

  it('a jump far away is a restarted counter, reported from the new number on', () => {
    const twcc = new TwccFeedback({ senderSsrc: 1 });
    const out = Buffer.alloc(1500);
    twcc.record(10, 0, 1);
    twcc.flush(out);
    twcc.record(30_000, 1000, 1);
    twcc.record(30_001, 2000, 1);
    const fb = decode(out, twcc.flush(out));
    assert.equal(fb.baseSeq, 30_000);
    assert.equal(fb.packetStatusCount, 2);
  });

  it('a long backlog is split over feedbacks of at most 512 packets', () => {
    const twcc = new TwccFeedback({ senderSsrc: 1 });
    const out = Buffer.alloc(4000);
    for (let s = 0; s < 700; s++) twcc.record(s, s * 100, 1);
    const first = decode(out, twcc.flush(out));
    assert.equal(first.packetStatusCount, 512);
    const second = decode(out, twcc.flush(out));
    assert.equal(second.baseSeq, 512);
    assert.equal(second.packetStatusCount, 188);
  });
});
