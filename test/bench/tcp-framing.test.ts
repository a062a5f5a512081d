import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeTcpFrame, TCP_FRAME_MAX_BYTES, TcpFrameDecoder } from '../../bench/tcp-framing.ts';

const packet = (length: number, fill: number) => Buffer.alloc(length, fill);

function collect(maxBytes?: number): { decoder: TcpFrameDecoder; frames: Buffer[] } {
  const frames: Buffer[] = [];
  const decoder = new TcpFrameDecoder((f) => frames.push(Buffer.from(f)), maxBytes);
  return { decoder, frames };
}

describe('bench: RFC 4571 framing of the ICE-TCP load peers', () => {
  it('encodes a packet behind its 16-bit big-endian length', () => {
    const framed = encodeTcpFrame(Buffer.from([1, 2, 3]));
    assert.deepEqual([...framed], [0, 3, 1, 2, 3]);
    assert.throws(() => encodeTcpFrame(Buffer.alloc(0)), RangeError);
    assert.throws(() => encodeTcpFrame(Buffer.alloc(65_536)), RangeError);
  });

  it('a frame split across chunks, the header too, comes out whole once its last byte arrives', () => {
    const { decoder, frames } = collect();
    const framed = encodeTcpFrame(packet(1200, 7));
    assert.equal(decoder.push(framed.subarray(0, 1)), true);
    assert.equal(decoder.pendingBytes, 1);
    assert.equal(decoder.push(framed.subarray(1, 600)), true);
    assert.equal(frames.length, 0);
    assert.equal(decoder.push(framed.subarray(600)), true);
    assert.deepEqual(frames, [packet(1200, 7)]);
    assert.equal(decoder.pendingBytes, 0);
  });

  it('several frames in one chunk come out in order, a trailing partial one is held', () => {
    const { decoder, frames } = collect();
    const third = encodeTcpFrame(packet(30, 3));
    const chunk = Buffer.concat([encodeTcpFrame(packet(10, 1)), encodeTcpFrame(packet(20, 2)), third]);
    assert.equal(decoder.push(chunk.subarray(0, chunk.length - 5)), true);
    assert.deepEqual(frames, [packet(10, 1), packet(20, 2)]);
    assert.equal(decoder.pendingBytes, third.length - 5);
    decoder.push(chunk.subarray(chunk.length - 5));
    assert.deepEqual(frames, [packet(10, 1), packet(20, 2), packet(30, 3)]);
  });

  it('a frame byte by byte equals the frame in one piece', () => {
    const { decoder, frames } = collect();
    const framed = Buffer.concat([encodeTcpFrame(packet(5, 9)), encodeTcpFrame(packet(3, 4))]);
    for (const byte of framed) decoder.push(Buffer.from([byte]));
    assert.deepEqual(frames, [packet(5, 9), packet(3, 4)]);
  });

  it('an oversized length stops the decoder for good: nothing after it is delivered', () => {
    const { decoder, frames } = collect();
    const bad = Buffer.alloc(2);
    bad.writeUInt16BE(TCP_FRAME_MAX_BYTES + 1, 0);
    const chunk = Buffer.concat([encodeTcpFrame(packet(4, 1)), bad, encodeTcpFrame(packet(4, 2))]);
    assert.equal(decoder.push(chunk), false);
    assert.deepEqual(frames, [packet(4, 1)]);
    assert.match(decoder.error ?? '', /1601/);
    assert.equal(decoder.push(encodeTcpFrame(packet(4, 3))), false);
    assert.equal(frames.length, 1);
    assert.equal(decoder.pendingBytes, 0);
  });

  it('a zero length is refused, and the bound is the one given', () => {
    const zero = collect();
    assert.equal(zero.decoder.push(Buffer.from([0, 0, 1])), false);
    const small = collect(8);
    assert.equal(small.decoder.push(encodeTcpFrame(packet(8, 1))), true);
    assert.equal(small.decoder.push(encodeTcpFrame(packet(9, 1))), false);
    assert.equal(small.frames.length, 1);
  });
});
