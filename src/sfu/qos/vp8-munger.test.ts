import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newVp8Descriptor, parseVp8 } from '../../rtp/codecs/vp8.ts';
import { Vp8Munger } from './vp8-munger.ts';

interface Vp8Fields {
  pictureId?: number;
  bits?: 7 | 15;
  tl0?: number;
  tid?: number;
  keyIdx?: number;
  keyframe?: boolean;
}

/** A VP8 payload (RFC 7741 §4.2) after 12 bytes of RTP header: descriptor, then 3 payload bytes. */
function vp8Packet(f: Vp8Fields): Buffer {
  const x = (f.pictureId !== undefined ? 0x80 : 0) | (f.tl0 !== undefined ? 0x40 : 0);
  const tk = (f.tid !== undefined ? 0x20 : 0) | (f.keyIdx !== undefined ? 0x10 : 0);
  const bytes = [0x90, x | tk];
  if (f.pictureId !== undefined) {
    if (f.bits === 7) bytes.push(f.pictureId & 0x7f);
    else bytes.push(0x80 | (f.pictureId >> 8), f.pictureId & 0xff);
  }
  if (f.tl0 !== undefined) bytes.push(f.tl0);
  if (tk) bytes.push(((f.tid ?? 0) << 6) | (f.keyIdx ?? 0));
  bytes.push(f.keyframe ? 0x00 : 0x01, 0xaa, 0xbb);
  return Buffer.concat([Buffer.alloc(12), Buffer.from(bytes)]);
}

function fieldsOf(buf: Buffer) {
  const d = newVp8Descriptor();
  assert.equal(parseVp8(buf, d, 12), true);
  return { pictureId: d.pictureId, tl0: d.tl0PicIdx, tid: d.tid, keyIdx: d.keyIdx };
}

function mungeOne(m: Vp8Munger, f: Vp8Fields, switched = false) {
  const buf = vp8Packet(f);
  assert.equal(m.munge(buf, 12, buf.length, { switched }), true);
  return fieldsOf(buf);
}

describe('Vp8Munger', () => {
  it('munge() passes the first source through unchanged', () => {
    const m = new Vp8Munger();
    const out = mungeOne(m, { pictureId: 500, tl0: 7, tid: 0, keyIdx: 3, keyframe: true });
    assert.deepEqual(out, { pictureId: 500, tl0: 7, tid: 0, keyIdx: 3 });
  });

  it('munge() continues picture id, TL0PICIDX and KEYIDX at +1 across a layer switch', () => {
    const m = new Vp8Munger();
    mungeOne(m, { pictureId: 100, tl0: 10, tid: 0, keyIdx: 1, keyframe: true });
    mungeOne(m, { pictureId: 101, tl0: 10, tid: 1, keyIdx: 1 });
    const first = mungeOne(m, { pictureId: 9000, tl0: 200, tid: 0, keyIdx: 30, keyframe: true }, true);
    assert.deepEqual(first, { pictureId: 102, tl0: 11, tid: 0, keyIdx: 2 });
    const next = mungeOne(m, { pictureId: 9001, tl0: 200, tid: 2, keyIdx: 30 });
    assert.deepEqual(next, { pictureId: 103, tl0: 11, tid: 2, keyIdx: 2 });
    assert.equal(mungeOne(m, { pictureId: 9002, tl0: 201, tid: 0, keyIdx: 30 }).tl0, 12);
  });

  it('munge() wraps picture id (15 bits), TL0PICIDX (8) and KEYIDX (5) across a switch', () => {
    const m = new Vp8Munger();
    mungeOne(m, { pictureId: 0x7ffe, tl0: 0xff, keyIdx: 31, keyframe: true });
    mungeOne(m, { pictureId: 0x7fff, tl0: 0xff, keyIdx: 31 });
    const first = mungeOne(m, { pictureId: 42, tl0: 3, keyIdx: 4, keyframe: true }, true);
    assert.deepEqual(first, { pictureId: 0, tl0: 0, tid: -1, keyIdx: 0 });
    assert.equal(mungeOne(m, { pictureId: 43, tl0: 4 }).pictureId, 1);
  });

  it('munge() follows a source wrapping its own picture id after a switch', () => {
    const m = new Vp8Munger();
    mungeOne(m, { pictureId: 10, keyframe: true });
    assert.equal(mungeOne(m, { pictureId: 0x7ffe, keyframe: true }, true).pictureId, 11);
    assert.equal(mungeOne(m, { pictureId: 0x7fff }).pictureId, 12);
    assert.equal(mungeOne(m, { pictureId: 0 }).pictureId, 13);
  });

  it('munge() keeps 7-bit picture ids 7 bits wide, continuing modulo 128', () => {
    const m = new Vp8Munger();
    mungeOne(m, { pictureId: 126, bits: 7, keyframe: true });
    assert.equal(mungeOne(m, { pictureId: 127, bits: 7 }).pictureId, 127);
    assert.equal(mungeOne(m, { pictureId: 0, bits: 7 }).pictureId, 0, 'source wraps at 128');
    assert.equal(mungeOne(m, { pictureId: 60, bits: 7, keyframe: true }, true).pictureId, 1);
  });

  it('packets of one picture keep one picture id; a late packet keeps its own', () => {
    const m = new Vp8Munger();
    mungeOne(m, { pictureId: 5, keyframe: true });
    mungeOne(m, { pictureId: 300, keyframe: true }, true);
    assert.equal(mungeOne(m, { pictureId: 300 }).pictureId, 6);
    assert.equal(mungeOne(m, { pictureId: 301 }).pictureId, 7);
    assert.equal(mungeOne(m, { pictureId: 300 }).pictureId, 6);
  });

  it('drop() removes a dropped picture from the picture-id space', () => {
    const m = new Vp8Munger();
    mungeOne(m, { pictureId: 20, tl0: 1, tid: 0, keyframe: true });
    for (const tid2 of [21, 21]) {
      const dropped = vp8Packet({ pictureId: tid2, tl0: 1, tid: 2 });
      m.drop(dropped, 12, dropped.length);
    }
    assert.deepEqual(mungeOne(m, { pictureId: 22, tl0: 1, tid: 1 }), {
      pictureId: 21,
      tl0: 1,
      tid: 1,
      keyIdx: -1,
    });
    const late = vp8Packet({ pictureId: 21, tid: 2 });
    m.drop(late, 12, late.length);
    assert.equal(mungeOne(m, { pictureId: 23, tl0: 2, tid: 0 }).pictureId, 22);
  });

  it('munge() refuses a truncated descriptor and writes nothing', () => {
    const m = new Vp8Munger();
    const buf = Buffer.concat([Buffer.alloc(12), Buffer.from([0x90, 0x80, 0x81])]);
    const copy = Buffer.from(buf);
    assert.equal(m.munge(buf, 12, buf.length, { switched: true }), false);
    assert.deepEqual(buf, copy);
  });
});
