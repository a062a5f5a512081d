import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newRtpLayout, readRtpLayout } from '../../../../src/rtp/rtp-packet.ts';
import { corpusFiles } from '../../../../test/fuzz/corpus.ts';
import { parseAv1SequenceHeader, readSizedObu } from './av1-obu.ts';
import { Av1Depacketizer } from './depacketize-av1.ts';
import { H264Depacketizer, h264SpsSize } from './depacketize-h264.ts';
import { OpusDepacketizer, opusPacketSamples } from './depacketize-opus.ts';
import { Vp8Depacketizer } from './depacketize-vp8.ts';
import { parseVp9KeyframeSize, Vp9Depacketizer } from './depacketize-vp9.ts';
import type { RtpPayload } from './depacketizer.ts';

const hex = (s: string) => Buffer.from(s, 'hex');
const p = (payload: Buffer, timestamp: number, marker: boolean): RtpPayload => ({
  payload,
  timestamp,
  marker,
});

/** The payload of a captured Chromium RTP packet of test/fuzz/corpus/rtp. */
function corpusPayload(name: string): { payload: Buffer; timestamp: number; marker: boolean } {
  const bytes = corpusFiles('rtp').find((f) => f.name === name)!.bytes;
  const l = newRtpLayout();
  assert.ok(readRtpLayout(bytes, l));
  return {
    payload: bytes.subarray(l.headerBytes, l.headerBytes + l.payloadBytes),
    timestamp: bytes.readUInt32BE(4),
    marker: (bytes[1]! & 0x80) !== 0,
  };
}

// x264's SPS of 1920x1080 (1088 coded, 8 lines cropped) and of 322x242 (odd macroblock crop).
const SPS_1080P = hex('67640028acd940780227e5c044000003000400000300f03c60c658');
const SPS_322X242 = hex('6764000dacd94150878888c044000003000400000300f03c50a658');
// High 4:4:4 (chroma_format_idc 3), 1920x1080.
const SPS_444_1080P = hex('67f40028919b280f0044fc4e0220000003002000000781e30632c0');
const PPS = hex('68ebe3cb22c0');

describe('H264 SPS', () => {
  it('reads width and height with cropping, 4:2:0 and 4:4:4', () => {
    assert.deepEqual(h264SpsSize(SPS_1080P), { width: 1920, height: 1080 });
    assert.deepEqual(h264SpsSize(SPS_322X242), { width: 322, height: 242 });
    assert.deepEqual(h264SpsSize(SPS_444_1080P), { width: 1920, height: 1080 });
  });

  it('gives undefined for a truncated SPS', () => {
    assert.equal(h264SpsSize(SPS_1080P.subarray(0, 6)), undefined);
  });
});

describe('H264Depacketizer', () => {
  const stapA = (...nals: Buffer[]) =>
    Buffer.concat([
      Buffer.from([0x78]),
      ...nals.flatMap((n) => [Buffer.from([n.length >> 8, n.length & 0xff]), n]),
    ]);
  const idr = Buffer.concat([Buffer.from([0x65]), Buffer.alloc(3000, 0xab)]);
  const fuA = (nal: Buffer, from: number, to: number) => {
    const start = from === 1 ? 0x80 : 0;
    const end = to === nal.length ? 0x40 : 0;
    return Buffer.concat([
      Buffer.from([(nal[0]! & 0xe0) | 28, start | end | (nal[0]! & 0x1f)]),
      nal.subarray(from, to),
    ]);
  };

  it('rebuilds STAP-A + FU-A into one AVCC access unit with the size from the SPS', () => {
    const d = new H264Depacketizer();
    assert.deepEqual(d.push(p(stapA(SPS_1080P, PPS), 9000, false)), []);
    assert.deepEqual(d.push(p(fuA(idr, 1, 1200), 9000, false)), []);
    assert.deepEqual(d.push(p(fuA(idr, 1200, 2400), 9000, false)), []);
    const [frame] = d.push(p(fuA(idr, 2400, idr.length), 9000, true));
    assert.ok(frame);
    assert.equal(frame.keyframe, true);
    assert.equal(frame.width, 1920);
    assert.equal(frame.height, 1080);
    const nals: Buffer[] = [];
    for (let at = 0; at < frame.data.length; at += 4 + frame.data.readUInt32BE(at))
      nals.push(frame.data.subarray(at + 4, at + 4 + frame.data.readUInt32BE(at)));
    assert.deepEqual(nals, [SPS_1080P, PPS, idr]);
  });

  it('puts the last SPS and PPS in front of an IDR sent without them', () => {
    const d = new H264Depacketizer();
    d.push(p(stapA(SPS_322X242, PPS), 0, false));
    d.push(p(idr, 0, true));
    const [frame] = d.push(p(idr, 3000, true));
    assert.ok(frame?.keyframe);
    assert.equal(frame.data.readUInt32BE(0), SPS_322X242.length);
    assert.equal(frame.data.length, 3 * 4 + SPS_322X242.length + PPS.length + idr.length);
  });

  it('drops the frame of a lost fragment and waits for a marker before the next', () => {
    const d = new H264Depacketizer();
    d.push(p(fuA(idr, 1, 1200), 0, false));
    d.lost();
    assert.deepEqual(d.push(p(fuA(idr, 2400, idr.length), 0, true)), []);
    const slice = Buffer.from([0x41, 1, 2, 3]);
    const [frame] = d.push(p(slice, 3000, true));
    assert.equal(frame?.keyframe, false);
    assert.deepEqual(frame.data, Buffer.concat([Buffer.from([0, 0, 0, 4]), slice]));
  });

  it('counts a malformed STAP-A as an error and drops its frame', () => {
    const d = new H264Depacketizer();
    assert.deepEqual(d.push(p(Buffer.from([0x78, 0x00, 0x09, 0x67]), 0, true)), []);
    assert.equal(d.errors, 1);
  });

  it('takes a captured Chromium STAP-A (SPS, PPS)', () => {
    const d = new H264Depacketizer();
    const { payload, timestamp } = corpusPayload('h264-02.bin');
    d.push(p(payload, timestamp, false));
    assert.equal(d.errors, 0);
    assert.ok(d.sps && d.pps);
    const size = h264SpsSize(d.sps);
    assert.ok(size && size.width > 0 && size.width % 2 === 0);
  });
});

describe('Vp8Depacketizer', () => {
  it('reads a captured Chromium keyframe (320x180)', () => {
    const d = new Vp8Depacketizer();
    const { payload, timestamp, marker } = corpusPayload('vp8-simulcast-00.bin');
    const [frame] = d.push(p(payload, timestamp, marker));
    assert.ok(frame?.keyframe);
    assert.equal(frame.width, 320);
    assert.equal(frame.height, 180);
  });

  it('joins the packets of a frame and drops a frame with a lost packet until the next start', () => {
    const d = new Vp8Depacketizer();
    const start = Buffer.from([0x10, 0x01, 0xaa]);
    const middle = Buffer.from([0x00, 0xbb]);
    assert.deepEqual(d.push(p(start, 1, false)), []);
    const [frame] = d.push(p(middle, 1, true));
    assert.deepEqual(frame?.data, Buffer.from([0x01, 0xaa, 0xbb]));
    assert.equal(frame.keyframe, false);
    d.push(p(start, 2, false));
    d.lost();
    assert.deepEqual(d.push(p(middle, 2, true)), []);
    assert.equal(d.push(p(start, 3, true)).length, 1);
  });
});

describe('Vp9Depacketizer', () => {
  it('reads the size of a keyframe uncompressed header', () => {
    // frame_marker 2, profile 0, show_existing 0, key, show, not error resilient, sync code,
    // color space 1 (BT.601), limited range, then 639 and 479 on 16 bits each.
    const header = hex('824983420027f01df0');
    assert.deepEqual(parseVp9KeyframeSize(header), { width: 640, height: 480 });
    assert.equal(parseVp9KeyframeSize(header.subarray(0, 5)), undefined);
  });

  it('regression: an inter frame without the P bit (ffmpeg sets none) is a frame, not an error', () => {
    const d = new Vp9Depacketizer();
    const key = Buffer.concat([Buffer.from([0x0c]), hex('824983420027f01df0')]);
    // frame_marker 2, profile 0, not show_existing, frame_type 1 (inter).
    const inter = Buffer.from([0x0c, 0x86, 0x00, 0x40]);
    assert.equal(d.push(p(key, 0, true))[0]?.keyframe, true);
    const [frame] = d.push(p(inter, 3000, true));
    assert.equal(frame?.keyframe, false);
    assert.equal(d.errors, 0);
  });

  it('frames a captured Chromium SVC packet by its B/E bits (a whole base-layer keyframe)', () => {
    const d = new Vp9Depacketizer();
    const { payload, timestamp } = corpusPayload('vp9-svc-00.bin');
    const frames = d.push(p(payload, timestamp, false));
    assert.equal(d.errors, 0);
    // The capture's first packet is a whole base-layer keyframe (B and E set).
    assert.equal(frames.length, 1);
    assert.ok(frames[0]!.keyframe && frames[0]!.width > 0);
  });
});

describe('Av1Depacketizer', () => {
  const seqHeader = hex('0a0418157fbc'); // reduced still-picture header: 64x48
  const frameObu = Buffer.concat([Buffer.from([0x30]), Buffer.alloc(100, 7)]); // type 6, no size field

  it('rebuilds fragmented OBUs into a temporal unit with size fields, without temporal delimiters', () => {
    const d = new Av1Depacketizer();
    const td = Buffer.from([0x10]);
    // Packet 1: N, W=0: TD, sequence header, then the frame's first 40 bytes (Y).
    const lengthOf = (b: Buffer) => Buffer.from([b.length]);
    const first = Buffer.concat([
      Buffer.from([0x48]),
      lengthOf(td),
      td,
      lengthOf(seqHeader),
      seqHeader,
      Buffer.from([40]),
      frameObu.subarray(0, 40),
    ]);
    const second = Buffer.concat([Buffer.from([0x90]), frameObu.subarray(40)]); // Z, W=1
    assert.deepEqual(d.push(p(first, 0, false)), []);
    const [frame] = d.push(p(second, 0, true));
    assert.ok(frame?.keyframe);
    const types: number[] = [];
    for (let at = 0; at < frame.data.length; ) {
      const obu = readSizedObu(frame.data, at);
      assert.ok(obu);
      types.push(obu.type);
      at = obu.next;
    }
    assert.deepEqual(types, [1, 6]);
    assert.equal(frame.width, 64);
    assert.equal(frame.height, 48);
  });

  it('errs on a continuation without the fragment it continues', () => {
    const d = new Av1Depacketizer();
    d.push(p(Buffer.from([0x90, 1, 2, 3]), 0, true));
    assert.equal(d.errors, 1);
  });
});

describe('Opus', () => {
  it('counts samples from the TOC byte', () => {
    assert.equal(opusPacketSamples(Buffer.from([0x78])), 960); // config 15: hybrid 20 ms
    assert.equal(opusPacketSamples(Buffer.from([0xf8, 0xff, 0xfe])), 960); // CELT 20 ms
    assert.equal(opusPacketSamples(Buffer.from([0x79])), 1920); // two frames
    assert.equal(opusPacketSamples(Buffer.from([0x7b, 0x03])), 2880); // code 3, three frames
    assert.equal(opusPacketSamples(Buffer.from([0x7b, 0x3f])), 0); // 63 × 20 ms: too long
    assert.equal(opusPacketSamples(Buffer.alloc(0)), 0);
  });

  it('passes each packet on as a frame', () => {
    const d = new OpusDepacketizer();
    const [frame] = d.push(corpusPayload('vp8-simulcast-02.bin'));
    assert.ok(frame && frame.data.length === 32);
  });
});

describe('AV1 sequence header', () => {
  it('reads a captured Chromium sequence header (full header with operating points): 640x360', () => {
    const { payload } = corpusPayload('av1-dd-02.bin');
    // Aggregation header (W = 2), the first element's length (16), then the sequence header OBU.
    assert.equal(payload[1], 16);
    const info = parseAv1SequenceHeader(payload.subarray(3, 2 + 16));
    assert.deepEqual(info && { width: info.width, height: info.height, profile: info.profile }, {
      width: 640,
      height: 360,
      profile: 0,
    });
  });
});
