import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Vp9Depacketizer } from './depacketize-vp9.ts';
import type { RtpPayload } from './depacketizer.ts';
import { parseVp9FrameSize, vp9Superframe, vp9SuperframeFrames } from './vp9-bitstream.ts';

/** MSB-first bits → bytes (the last byte zero-padded), then `tail` bytes of frame data. */
function bits(fields: Array<[number, number]>, tail = 4): Buffer {
  const out: number[] = [];
  let acc = 0;
  let n = 0;
  for (const [value, width] of fields)
    for (let i = width - 1; i >= 0; i--) {
      acc = (acc << 1) | ((value >> i) & 1);
      if (++n === 8) {
        out.push(acc);
        acc = 0;
        n = 0;
      }
    }
  if (n > 0) out.push(acc << (8 - n));
  return Buffer.concat([Buffer.from(out), Buffer.alloc(tail, 0x55)]);
}

/** Profile 0 uncompressed headers (VP9 §6.2): marker, profile, show_existing, type, show, error resilient. */
const keyHeader = (w: number, h: number) =>
  bits([
    [2, 2],
    [0, 2],
    [0, 1],
    [0, 1],
    [1, 1],
    [0, 1],
    [0x498342, 24],
    [0, 3],
    [0, 1],
    [w - 1, 16],
    [h - 1, 16],
  ]);
/** An inter frame: reset_frame_context, refresh flags, 3 refs; its size explicit or from a reference. */
const interHeader = (size?: { w: number; h: number }) =>
  bits([
    [2, 2],
    [0, 2],
    [0, 1],
    [1, 1],
    [1, 1],
    [0, 1],
    [0, 2],
    [1, 8],
    [0, 12],
    ...(size
      ? ([
          [0, 3],
          [size.w - 1, 16],
          [size.h - 1, 16],
        ] as Array<[number, number]>)
      : ([[1, 1]] as Array<[number, number]>)),
  ]);

/**
 * A flexible-mode descriptor (RFC 9628 §4.2) with a 15-bit picture id and layer indices; `ss`:
 * a scalability structure with these layer sizes (Y set).
 */
function descriptor(o: {
  sid: number;
  b: boolean;
  e: boolean;
  inter: boolean;
  ss?: Array<[number, number]>;
}): Buffer {
  const flags =
    0x80 | (o.inter ? 0x40 : 0) | 0x20 | 0x10 | (o.b ? 0x08 : 0) | (o.e ? 0x04 : 0) | (o.ss ? 0x02 : 0);
  const bytes = [flags, 0x80, 0x07, (o.sid << 1) | (o.sid > 0 && !o.inter ? 1 : 0)];
  if (o.inter) bytes.push(0x02); // P_DIFF 1, N 0
  if (o.ss) {
    bytes.push(((o.ss.length - 1) << 5) | 0x10);
    for (const [w, h] of o.ss) bytes.push(w >> 8, w & 0xff, h >> 8, h & 0xff);
  }
  return Buffer.from(bytes);
}

const SIZES: Array<[number, number]> = [
  [320, 180],
  [640, 360],
];

/** One picture's packets: each layer frame cut in two packets, the marker on the last one. */
function picture(
  frames: Buffer[],
  timestamp: number,
  key: boolean,
  ss = key ? SIZES : undefined,
): RtpPayload[] {
  const packets: RtpPayload[] = [];
  frames.forEach((frame, sid) => {
    const half = Math.ceil(frame.length / 2);
    for (const [i, part] of [frame.subarray(0, half), frame.subarray(half)].entries()) {
      const d = descriptor({
        sid,
        b: i === 0,
        e: i === 1,
        inter: !key,
        ...(sid === 0 && i === 0 && ss ? { ss } : {}),
      });
      packets.push({ payload: Buffer.concat([d, part]), timestamp, marker: false });
    }
  });
  packets[packets.length - 1]!.marker = true;
  return packets;
}

const pushAll = (d: Vp9Depacketizer, packets: RtpPayload[]) => packets.flatMap((p) => d.push(p));

describe('VP9 superframes (Annex B)', () => {
  it('writes the frames then the index: marker, little-endian sizes on the bytes the largest needs, marker', () => {
    const a = Buffer.alloc(3, 1);
    const b = Buffer.alloc(300, 2);
    const sf = vp9Superframe([a, b]);
    // 0b110 | bytes_per_framesize - 1 = 1 | frames - 1 = 1
    assert.deepEqual([...sf.subarray(303)], [0xc9, 3, 0, 0x2c, 0x01, 0xc9]);
    assert.deepEqual(vp9SuperframeFrames(sf), [a, b]);
    assert.equal(vp9Superframe([a]), a, 'one frame needs no index');
    assert.deepEqual(vp9SuperframeFrames(a), [a]);
    assert.throws(() => vp9Superframe(Array.from({ length: 9 }, () => a)), RangeError);
  });

  it('reads a frame size from keyframe headers and from inter headers that state it', () => {
    assert.deepEqual(parseVp9FrameSize(keyHeader(320, 180)), { width: 320, height: 180 });
    assert.deepEqual(parseVp9FrameSize(interHeader({ w: 640, h: 360 })), { width: 640, height: 360 });
    assert.equal(parseVp9FrameSize(interHeader()), undefined, 'found_ref: the size of a reference');
    assert.equal(parseVp9FrameSize(keyHeader(320, 180).subarray(0, 6)), undefined, 'truncated');
  });
});

describe('Vp9Depacketizer with spatial layers (SVC)', () => {
  const key = [keyHeader(320, 180), interHeader({ w: 640, h: 360 })];
  const delta = [interHeader(), interHeader()];

  it("joins a keyframe picture's layer frames into one superframe with the top layer's size", () => {
    const d = new Vp9Depacketizer();
    const frames = pushAll(d, picture(key, 1000, true));
    assert.equal(frames.length, 1);
    assert.deepEqual(
      { keyframe: frames[0]!.keyframe, width: frames[0]!.width, height: frames[0]!.height },
      { keyframe: true, width: 640, height: 360 },
    );
    assert.deepEqual(vp9SuperframeFrames(frames[0]!.data), key);
    const [next] = pushAll(d, picture(delta, 4000, false));
    assert.equal(next!.keyframe, false);
    assert.deepEqual(vp9SuperframeFrames(next!.data), delta);
    assert.equal(d.errors, 0);
  });

  it('takes the size from the scalability structure when the top header copies a reference size', () => {
    const d = new Vp9Depacketizer();
    const [frame] = pushAll(d, picture([keyHeader(320, 180), interHeader()], 1000, true));
    assert.deepEqual([frame!.width, frame!.height], [640, 360]);
  });

  it('maxSpatialLayer drops the layers above it: the base alone, without an index, at its size', () => {
    const d = new Vp9Depacketizer({ maxSpatialLayer: 0 });
    const packets = picture(key, 1000, true);
    // The picture ends at the E of the last layer kept, before the packets of the dropped one.
    assert.equal(pushAll(d, packets.slice(0, 2)).length, 1);
    assert.deepEqual(pushAll(d, packets.slice(2)), []);
    const [frame] = pushAll(new Vp9Depacketizer({ maxSpatialLayer: 0 }), packets);
    assert.deepEqual(frame!.data, key[0]);
    assert.deepEqual([frame!.keyframe, frame!.width, frame!.height], [true, 320, 180]);
  });

  it('a picture whose top layer never came is emitted up to the layers it has', () => {
    const d = new Vp9Depacketizer();
    pushAll(d, picture(key, 1000, true));
    const [frame] = pushAll(d, picture([delta[0]!], 4000, false));
    assert.deepEqual(frame!.data, delta[0], 'the base frame alone');
    const [after] = pushAll(d, picture(delta, 7000, false));
    assert.deepEqual(vp9SuperframeFrames(after!.data), delta);
    assert.equal(d.errors, 0);
  });

  it('a packet lost inside a picture drops the whole picture; the next one is whole again', () => {
    const d = new Vp9Depacketizer();
    const packets = picture(key, 1000, true);
    assert.deepEqual(pushAll(d, packets.slice(0, 2)), []);
    d.lost();
    assert.deepEqual(pushAll(d, packets.slice(3)), [], 'the top layer frame after the loss');
    const [next] = pushAll(d, picture(delta, 4000, false));
    assert.deepEqual(vp9SuperframeFrames(next!.data), delta);
  });

  it('spatial ids that do not rise within a picture are malformed: counted, the picture dropped', () => {
    const d = new Vp9Depacketizer();
    const packets = picture(key, 1000, true);
    const repeated = [...packets.slice(0, 2), ...packets.slice(0, 2), ...packets.slice(2)];
    assert.deepEqual(pushAll(d, repeated), []);
    assert.equal(d.errors, 1);
  });
});
