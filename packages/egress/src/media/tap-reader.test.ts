import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { silentLogger } from '../../../../src/lib/logger.ts';
import type { RelayedTrack, TapFeedback, TapMessage } from '../../../../src/sfu/egress-backend.ts';
import {
  handoverBatch,
  OPUS_20MS,
  OPUS_TRACK,
  relayedTrack,
  rtpPacket,
  VP8_TRACK,
  vp8Payload,
} from '../testing/rtp-build.ts';
import type { MediaFrame } from './frame.ts';
import { TapReader } from './tap-reader.ts';

/** A tap port delivering messages at once (the worker side is the test). */
class FakePort extends EventEmitter {
  feedback: TapFeedback[] = [];
  postMessage(message: TapFeedback): void {
    this.feedback.push(message);
  }
  send(message: TapMessage): void {
    this.emit('message', message);
  }
}

const VIDEO = VP8_TRACK;
const AUDIO = OPUS_TRACK;

function setup(tracks: RelayedTrack[]) {
  const port = new FakePort();
  let nowMs = 0;
  const frames: Array<{ relayId: number; frame: MediaFrame }> = [];
  const reader = new TapReader(port, tracks, {
    logger: silentLogger(),
    now: () => nowMs,
    onFrame: (track, frame) => frames.push({ relayId: track.relayId, frame }),
  });
  const at = (ms: number) => {
    nowMs = ms;
  };
  return { port, reader, frames, at };
}

const video = (seq: number, timestamp: number, keyframe: boolean, ssrc = 0x1111) =>
  rtpPacket({ seq, timestamp, ssrc, payloadType: 96, marker: true, payload: vp8Payload(keyframe) });
const audio = (seq: number, timestamp: number) =>
  rtpPacket({ seq, timestamp, ssrc: 0x2222, payloadType: 111, marker: false, payload: OPUS_20MS });

describe('TapReader', () => {
  it('asks for a keyframe at the start and drops video until one arrives', () => {
    const { port, reader, frames } = setup([VIDEO]);
    assert.deepEqual(port.feedback, [{ t: 'keyframe', relayId: 1, ssrc: 0 }]);
    port.send({ t: 'rtp', batch: handoverBatch([[1, 0, video(1, 0, false)]]) });
    assert.equal(frames.length, 0);
    port.send({
      t: 'rtp',
      batch: handoverBatch([
        [1, 0, video(2, 3000, true)],
        [1, 0, video(3, 6000, false)],
      ]),
    });
    assert.deepEqual(
      frames.map((f) => f.frame.kind === 'video' && [f.frame.keyframe, f.frame.width, f.frame.height]),
      [
        [true, 320, 180],
        [false, 320, 180],
      ],
    );
    assert.equal(reader.tracks[0]!.framesDropped, 1);
    reader.close();
  });

  it('gives up a lost packet after the wait, asks for a keyframe and discards until it comes', () => {
    const { port, reader, frames, at } = setup([VIDEO]);
    port.send({ t: 'rtp', batch: handoverBatch([[1, 0, video(10, 0, true)]]) });
    port.feedback = [];
    at(10);
    port.send({
      t: 'rtp',
      batch: handoverBatch([
        [1, 0, video(12, 6000, false)],
        [1, 0, video(13, 9000, false)],
      ]),
    });
    at(100);
    reader.poll();
    assert.equal(frames.length, 1);
    assert.deepEqual(port.feedback, []);
    at(200);
    reader.poll();
    assert.deepEqual(port.feedback, [{ t: 'keyframe', relayId: 1, ssrc: 0x1111 }]);
    assert.equal(frames.length, 1);
    port.send({
      t: 'rtp',
      batch: handoverBatch([
        [1, 0, video(14, 12000, false)],
        [1, 0, video(15, 15000, true)],
      ]),
    });
    assert.deepEqual(
      frames.map((f) => f.frame.kind === 'video' && f.frame.keyframe),
      [true, true],
    );
    reader.close();
  });

  it('follows the top simulcast layer and falls back to the best one still sending', () => {
    const track = { ...VIDEO, rids: ['q', 'h', 'f'] };
    const { port, reader, frames, at } = setup([track]);
    assert.deepEqual(port.feedback[0], { t: 'layer', relayId: 1, layer: 2 });
    port.send({
      t: 'rtp',
      batch: handoverBatch([
        [1, 0, video(1, 0, true, 0xaa)],
        [1, 2, video(1, 0, true, 0xcc)],
      ]),
    });
    assert.equal(frames.length, 1);
    assert.deepEqual(port.feedback.at(-1), { t: 'keyframe', relayId: 1, ssrc: 0xcc });
    // The top layer stops (the publisher's bandwidth dropped); layer 0 goes on.
    for (let i = 1; i <= 12; i++) {
      at(i * 100);
      port.send({ t: 'rtp', batch: handoverBatch([[1, 0, video(1 + i, i * 9000, false, 0xaa)]]) });
      reader.poll();
    }
    assert.ok(port.feedback.some((f) => f.t === 'layer' && f.layer === -1));
    assert.deepEqual(port.feedback.at(-1), { t: 'keyframe', relayId: 1, ssrc: 0xaa });
    at(1300);
    port.send({ t: 'rtp', batch: handoverBatch([[1, 0, video(14, 12 * 9000 + 3000, true, 0xaa)]]) });
    assert.equal(frames.length, 2);
    reader.close();
  });

  it('aligns audio and video by their sender reports within 10 ms (video arriving 80 ms later)', () => {
    const { port, reader, frames, at } = setup([VIDEO, AUDIO]);
    // The publisher's NTP clock is far from ours; each stream's RTP clock starts elsewhere.
    const ntp0 = 3_900_000_000_000;
    const v0 = 1_000_000;
    const a0 = 4_000_000_000;
    port.send({ t: 'sr', relayId: 2, ssrc: 0x2222, ntpMs: ntp0 - 50, rtpTimestamp: a0 - 50 * 48 });
    port.send({ t: 'sr', relayId: 1, ssrc: 0x1111, ntpMs: ntp0 - 30, rtpTimestamp: v0 - 30 * 90 });
    // Capture time t (ms): audio every 20 ms arrives at t + 20, video every 40 ms at t + 100.
    const events: Array<[number, () => Buffer, number]> = [];
    for (let t = 0; t <= 2000; t += 20) events.push([t + 20, () => audio(t / 20, (a0 + t * 48) >>> 0), 2]);
    for (let t = 0; t <= 2000; t += 40)
      events.push([t + 100, () => video(t / 40, v0 + t * 90, t % 1000 === 0), 1]);
    events.sort((a, b) => a[0] - b[0]);
    for (const [arrival, packet, relayId] of events) {
      at(arrival);
      port.send({ t: 'rtp', batch: handoverBatch([[relayId, 0, packet()]]) });
    }
    const ptsAt = (relayId: number, captureMs: number) => {
      const kind = relayId === 1 ? 'video' : 'audio';
      const list = frames.filter((f) => f.relayId === relayId).map((f) => f.frame.ptsUs);
      const step = kind === 'video' ? 40 : 20;
      return list[captureMs / step]!;
    };
    for (const t of [0, 400, 1000, 2000]) {
      const skew = Math.abs(ptsAt(1, t) - ptsAt(2, t));
      assert.ok(skew <= 10_000, `audio and video at ${t} ms are ${skew} µs apart`);
    }
    assert.equal(Math.min(...frames.map((f) => f.frame.ptsUs)), 0);
    reader.close();
  });

  it('regression: a sender report kept for a layer followed later counts from when it arrived, not from the switch', () => {
    const track = { ...VIDEO, rids: ['q', 'h', 'f'] };
    const { port, reader, frames, at } = setup([track, AUDIO]);
    const ntp0 = 3_900_000_000_000;
    const v0 = 1_000_000;
    const a0 = 4_000_000_000;
    // Layer h's report comes at once; the top layer f never sends, so h is followed only after 1 s
    // of silence; the audio's first report comes after that (as Chromium's did: ~1.6 s).
    port.send({ t: 'sr', relayId: 1, ssrc: 0xbb, ntpMs: ntp0, rtpTimestamp: v0 });
    const events: Array<[number, () => void]> = [];
    for (let t = 0; t <= 3000; t += 20)
      events.push([
        t,
        () => port.send({ t: 'rtp', batch: handoverBatch([[2, 0, audio(t / 20, (a0 + t * 48) >>> 0)]]) }),
      ]);
    for (let t = 0; t <= 3000; t += 40) {
      const packet = video(t / 40, v0 + t * 90, t % 400 === 0, 0xbb);
      events.push([t, () => port.send({ t: 'rtp', batch: handoverBatch([[1, 1, packet]]) })]);
    }
    events.push([
      1600,
      () =>
        port.send({ t: 'sr', relayId: 2, ssrc: 0x2222, ntpMs: ntp0 + 1600, rtpTimestamp: a0 + 1600 * 48 }),
    ]);
    events.sort((a, b) => a[0] - b[0]);
    for (const [ms, send] of events) {
      at(ms);
      send();
      reader.poll();
    }
    // Every frame is captured when it arrives: its pts follows the arrival clock, before and after
    // the reports (the first frame, audio at 0 ms, is pts 0), audio and video alike.
    const video1 = frames.filter((f) => f.relayId === 1);
    assert.ok(video1.length > 30, `video frames ${video1.length}`);
    const audioFrames = frames.filter((f) => f.relayId === 2);
    for (const [list, stepMs] of [
      [audioFrames, 20],
      [video1, 40],
    ] as const) {
      const firstCaptureMs = list === audioFrames ? 0 : 3000 - (list.length - 1) * 40;
      list.forEach((f, i) => {
        const off = f.frame.ptsUs / 1000 - (firstCaptureMs + i * stepMs);
        assert.ok(
          Math.abs(off) <= 10,
          `frame ${i} of track ${f.relayId}: ${off.toFixed(1)} ms off its capture time`,
        );
      });
    }
    reader.close();
  });

  it('drops a malformed batch and keeps reading', () => {
    const { port, reader, frames } = setup([AUDIO]);
    port.send({ t: 'rtp', batch: new ArrayBuffer(5) });
    port.send({ t: 'rtp', batch: handoverBatch([[2, 0, audio(1, 960)]]) });
    assert.equal(reader.badBatches, 1);
    assert.equal(frames.length, 1);
    reader.close();
  });
});

describe('TapReader with a VP9 SVC track', () => {
  const SVC = relayedTrack({
    relayId: 3,
    kind: 'video',
    mimeType: 'video/VP9',
    payloadType: 98,
    clockRate: 90_000,
  });
  // Non-flexible descriptors (RFC 9628): L, B, E (+ V with a scalability structure of two layers,
  // 640x480 and 1280x720, on the base), layer byte (SID, D), TL0PICIDX.
  const base = Buffer.from('2e000030028001e0050002d0' + '824983420027f01df0', 'hex');
  // The upper layer: an inter frame whose header leaves its size to a reference (cut short).
  const upper = Buffer.from('2c0300' + '860040', 'hex');
  const picture = (seq: number) =>
    [
      [3, 0, rtpPacket({ seq, timestamp: 0, ssrc: 0x3333, payloadType: 98, marker: false, payload: base })],
      [
        3,
        0,
        rtpPacket({
          seq: seq + 1,
          timestamp: 0,
          ssrc: 0x3333,
          payloadType: 98,
          marker: true,
          payload: upper,
        }),
      ],
    ] as Array<[number, number, Buffer]>;

  for (const [layer, size, count] of [
    ['highest', [1280, 720], 2],
    [0, [640, 480], 1],
  ] as const) {
    it(`layer ${layer}: the keyframe picture's ${count} layer frame(s), at ${size.join('x')}`, () => {
      const port = new FakePort();
      const frames: MediaFrame[] = [];
      const reader = new TapReader(port, [SVC], {
        logger: silentLogger(),
        now: () => 0,
        layer,
        onFrame: (_track, frame) => frames.push(frame),
      });
      port.send({ t: 'rtp', batch: handoverBatch(picture(1)) });
      assert.equal(frames.length, 1);
      const f = frames[0]!;
      assert.ok(f.kind === 'video' && f.keyframe);
      assert.deepEqual([f.width, f.height], size);
      // A superframe ends with its index marker (0b110…); the base frame alone has none.
      assert.equal((f.data.at(-1)! & 0xe0) === 0xc0, count === 2);
      reader.close();
    });
  }
});
