import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { DEPENDENCY_DESCRIPTOR_URI } from '../../rtp/dependency-descriptor.ts';
import { findHeaderExtension } from '../../rtp/rtp-extensions.ts';
import { DownTrack } from './down-track.ts';
import { UpTrack } from './up-track.ts';

/** MSB-first bit writer. */
function bits(fields: Array<[number, number]>): Buffer {
  const out: number[] = [];
  for (const [value, n] of fields) for (let i = n - 1; i >= 0; i--) out.push((value >> i) & 1);
  const buf = Buffer.alloc(Math.ceil(out.length / 8));
  out.forEach((b, i) => {
    if (b) buf[i >> 3]! |= 0x80 >> (i & 7);
  });
  return buf;
}

/**
 * Dependency descriptors of an L2T2 stream: templates 0 (S0T0), 1 (S0T1), 2 (S1T0), 3 (S1T1);
 * decode targets S0T0, S0T1, S1T0, S1T1; no chains. `structure` attaches it (keyframe).
 */
function dd(template: number, frame: number, structure: boolean): Buffer {
  const head: Array<[number, number]> = [
    [1, 1],
    [1, 1],
    [template, 6],
    [frame, 16],
  ];
  if (!structure) return bits(head);
  const s: Array<[number, number]> = [...head, [0b10000, 5], [0, 6], [3, 5]];
  for (const idc of [1, 2, 1, 3]) s.push([idc, 2]);
  const dtis = [
    [2, 2, 2, 2],
    [0, 2, 0, 1],
    [0, 0, 2, 2],
    [0, 0, 0, 1],
  ];
  for (const row of dtis) for (const d of row) s.push([d, 2]);
  for (const fdiffs of [[], [1], [1], [1]]) {
    for (const f of fdiffs) s.push([1, 1], [f - 1, 4]);
    s.push([0, 1]);
  }
  s.push([0, 3]); // ns(5) = 0: no chains
  s.push([0, 1]); // no resolutions
  return bits(s);
}

const DD_ID = 12;
const OUR_DD_ID = 8;

/** An AV1 RTP packet whose two-byte extension block carries the descriptor. */
function av1(seq: number, ts: number, marker: boolean, descriptor: Buffer, keyframe: boolean): Buffer {
  const ext = Buffer.concat([Buffer.from([DD_ID, descriptor.length]), descriptor]);
  const padded = Buffer.alloc(Math.ceil(ext.length / 4) * 4);
  ext.copy(padded);
  // Aggregation header W = 1 (N = 1 on a keyframe), then one OBU: a sequence header or a frame.
  const payload = keyframe ? Buffer.from([0x18, 0x0a, 1, 2, 3]) : Buffer.from([0x10, 0x32, 4, 5, 6]);
  const header = Buffer.alloc(16);
  header[0] = 0x90;
  header[1] = (marker ? 0x80 : 0) | 45;
  header.writeUInt16BE(seq, 2);
  header.writeUInt32BE(ts, 4);
  header.writeUInt32BE(0xa1, 8);
  header.writeUInt16BE(0x1000, 12);
  header.writeUInt16BE(padded.length / 4, 14);
  return Buffer.concat([header, padded, payload]);
}

function setup() {
  const clock = new ManualClock();
  const up = new UpTrack({
    trackId: 'cam',
    streamId: 'stream',
    mid: '1',
    kind: 'video',
    codec: { mimeType: 'video/AV1', payloadType: 45, clockRate: 90_000, fmtp: {} },
    rids: [],
    headerExtensions: [{ uri: DEPENDENCY_DESCRIPTOR_URI, id: DD_ID }],
    clock,
    sendPli: () => {},
  });
  up.addLayer(0xa1, undefined);
  const sent: Buffer[] = [];
  const extensionIds = new Uint8Array(256);
  extensionIds[DD_ID] = OUR_DD_ID;
  const down = new DownTrack({
    upTrack: up,
    ssrc: 0x5000,
    payloadType: 45,
    extensionIds,
    send: (p) => sent.push(p),
  });
  const feed = (buf: Buffer) => up.onRtp(buf, 16 + buf.readUInt16BE(14) * 4, 0xa1);
  return { clock, up, down, sent, feed };
}

/** One temporal unit: an S0 and an S1 frame, the marker on the S1 packet. */
function unit(seq: number, ts: number, temporal: number, key: boolean): Buffer[] {
  return [
    av1(seq, ts, false, dd(temporal, seq, key), key),
    av1(seq + 1, ts, true, dd(2 + temporal, seq + 1, false), false),
  ];
}

describe('AV1 with the dependency descriptor (UpTrack + DownTrack)', () => {
  it('SVC mode: spatial and temporal ids from the templates, layers above the target dropped, DD forwarded', () => {
    const { up, down, sent, feed } = setup();
    assert.equal(up.svc, true, 'AV1 without rids and with the DD: one SSRC, layers by spatial id');
    down.setTarget({ spatial: 0, temporal: 1 });
    for (const p of unit(100, 1000, 0, true)) feed(p);
    assert.ok(up.dependencyStructure, 'the structure of the keyframe is kept');
    assert.equal(up.dependencyStructure.templateCount, 4);
    for (const p of unit(102, 4000, 1, false)) feed(p);
    for (const p of unit(104, 7000, 0, false)) feed(p);
    assert.equal(sent.length, 3, 'only the S0 frames');
    assert.deepEqual(
      sent.map((p) => p.readUInt16BE(2) - sent[0]!.readUInt16BE(2)),
      [0, 1, 2],
      'no sequence gap for the dropped S1 packets',
    );
    assert.ok(
      sent.every((p) => (p[1]! & 0x80) !== 0),
      'marker moved to the end of the top layer sent (DD end of frame)',
    );
    const range = { offset: 0, length: 0 };
    assert.ok(findHeaderExtension(sent[0]!, OUR_DD_ID, range), 'DD forwarded with our id');
    assert.deepEqual(sent[0]!.subarray(range.offset, range.offset + range.length), dd(0, 100, true));
    assert.equal(down.current?.spatial, 0);
  });

  it('temporal layers above the target are dropped; S1 comes back at the next keyframe', () => {
    const { down, sent, feed } = setup();
    down.setTarget({ spatial: 1, temporal: 0 });
    // Joining a running stream: its layers are seen before the keyframe it waits for.
    for (const p of unit(90, 500, 0, true)) feed(p);
    for (const p of unit(92, 700, 0, false)) feed(p);
    sent.length = 0;
    for (const p of unit(100, 1000, 0, true)) feed(p);
    for (const p of unit(102, 4000, 1, false)) feed(p);
    assert.equal(sent.length, 2, 'the keyframe unit, not the T1 unit');
    for (const p of unit(104, 7000, 0, false)) feed(p);
    assert.equal(sent.length, 4);
    down.setTarget({ spatial: 0, temporal: 0 });
    for (const p of unit(106, 10_000, 0, false)) feed(p);
    assert.equal(sent.length, 5, 'down at the next picture: S0 only');
    down.setTarget({ spatial: 1, temporal: 0 });
    for (const p of unit(108, 13_000, 0, false)) feed(p);
    assert.equal(sent.length, 6, 'up waits for a keyframe (S1 references S1 frames not sent)');
    for (const p of unit(110, 16_000, 0, true)) feed(p);
    assert.equal(sent.length, 8, 'both layers again from the keyframe on');
    assert.equal(down.current?.spatial, 1);
  });

  it('a descriptor that cannot be read (no structure yet) leaves the packet at its defaults', () => {
    const { up, sent, feed } = setup();
    feed(av1(1, 1000, true, dd(2, 1, false), false));
    assert.equal(up.dependencyStructure, undefined);
    assert.equal(sent.length, 0, 'nothing before a keyframe');
  });
});
