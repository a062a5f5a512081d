import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameReader, frame, MAX_FRAME_BYTES } from './rfc4571-framing.ts';

function collect(): { reader: FrameReader; frames: Buffer[] } {
  const frames: Buffer[] = [];
  return { reader: new FrameReader((f) => frames.push(Buffer.from(f))), frames };
}

const packets = [Buffer.from([0x00, 0x01, 0x02]), Buffer.alloc(1200, 0x80), Buffer.from([0x16])];
const stream = Buffer.concat(packets.map((p) => frame(p)!));

describe('RFC 4571 framing', () => {
  it('frame() prefixes the 16-bit big-endian length', () => {
    assert.deepEqual(frame(Buffer.from([7, 8, 9])), Buffer.from([0, 3, 7, 8, 9]));
    assert.deepEqual(frame(Buffer.from([7, 8, 9]), 2), Buffer.from([0, 2, 7, 8]));
  });

  it('frame() refuses an empty packet and one longer than 65535 bytes', () => {
    assert.equal(frame(Buffer.alloc(0)), undefined);
    assert.equal(frame(Buffer.alloc(MAX_FRAME_BYTES + 1)), undefined);
    assert.equal(frame(Buffer.alloc(MAX_FRAME_BYTES))?.length, MAX_FRAME_BYTES + 2);
  });

  it('reader.push() yields every frame of one chunk in order', () => {
    const { reader, frames } = collect();
    assert.equal(reader.push(stream), undefined);
    assert.deepEqual(frames, packets);
    assert.equal(reader.pendingBytes, 0);
  });

  it('reader.push() reassembles frames split at every byte, headers included', () => {
    const { reader, frames } = collect();
    for (const byte of stream) assert.equal(reader.push(Buffer.from([byte])), undefined);
    assert.deepEqual(frames, packets);
  });

  it('reader.push() reassembles frames across chunks of every split point', () => {
    for (let at = 0; at <= stream.length; at++) {
      const { reader, frames } = collect();
      reader.push(stream.subarray(0, at));
      reader.push(stream.subarray(at));
      assert.deepEqual(frames, packets, `split at ${at}`);
    }
  });

  it('reader.pendingBytes counts a frame held until its last byte', () => {
    const { reader, frames } = collect();
    reader.push(stream.subarray(0, 9));
    assert.equal(frames.length, 1);
    assert.equal(reader.pendingBytes, 2);
    reader.push(stream.subarray(9, 5 + 2 + 1200));
    assert.equal(frames.length, 2);
    assert.equal(reader.pendingBytes, 0);
  });

  it('a zero length is a framing error, and the reader refuses everything after it', () => {
    const { reader, frames } = collect();
    assert.equal(
      reader.push(Buffer.concat([frame(packets[0]!)!, Buffer.from([0, 0]), frame(packets[2]!)!])),
      'zero_length',
    );
    assert.deepEqual(frames, [packets[0]]);
    assert.equal(reader.push(frame(packets[2]!)!), 'zero_length');
    assert.equal(frames.length, 1);
    assert.equal(reader.error, 'zero_length');
  });

  it('a zero length split across chunks is a framing error too', () => {
    const { reader } = collect();
    assert.equal(reader.push(Buffer.from([0])), undefined);
    assert.equal(reader.push(Buffer.from([0, 5])), 'zero_length');
  });
});
