import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { decodeBoundedMsgpack, MsgpackBoundsError, type MsgpackRejectReason } from './msgpack-bounds.ts';

// notepack.io 2.2.0, the codec under socket.io-msgpack-parser: the reference for every valid frame.
const require = createRequire(import.meta.resolve('socket.io-msgpack-parser'));
const notepack = require('notepack.io') as { encode(v: unknown): Buffer; decode(b: Buffer): unknown };

const bytes = (...parts: Array<number | number[] | Buffer>) =>
  Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(typeof p === 'number' ? [p] : p))));
const be = (value: number, size: 1 | 2 | 4) => {
  const b = Buffer.alloc(size);
  b.writeUIntBE(value, 0, size);
  return b;
};

function rejects(frame: Buffer, reason: MsgpackRejectReason): void {
  assert.throws(
    () => decodeBoundedMsgpack(frame),
    (err: unknown) => err instanceof MsgpackBoundsError && err.reason === reason,
    `${frame.subarray(0, 16).toString('hex')} must be rejected as ${reason}`,
  );
}

/** Decodes like notepack.io does (the wire contract), checked on the same bytes. */
function decodesLikeNotepack(frame: Buffer): unknown {
  const value = decodeBoundedMsgpack(frame);
  assert.deepStrictEqual(value, notepack.decode(frame));
  return value;
}

const SIZED = [
  { type: 'bin', widths: { 1: 0xc4, 2: 0xc5, 4: 0xc6 } },
  { type: 'str', widths: { 1: 0xd9, 2: 0xda, 4: 0xdb } },
  { type: 'ext', widths: { 1: 0xc7, 2: 0xc8, 4: 0xc9 } },
  { type: 'array', widths: { 2: 0xdc, 4: 0xdd } },
  { type: 'map', widths: { 2: 0xde, 4: 0xdf } },
] as const;

/** Three items of each type, in a header of the given width. */
function sizedFrame(type: (typeof SIZED)[number]['type'], prefix: number, size: 1 | 2 | 4): Buffer {
  if (type === 'bin') return bytes(prefix, be(3, size), [1, 2, 3]);
  if (type === 'str') return bytes(prefix, be(3, size), Buffer.from('abc'));
  if (type === 'ext') return bytes(prefix, be(3, size), 0x05, [1, 2, 3]);
  if (type === 'array') return bytes(prefix, be(3, size), [0x01, 0xc0, 0xc3]);
  return bytes(prefix, be(3, size), [0xa1, 0x61, 0x01, 0xa1, 0x62, 0xc2, 0x01, 0xc0]);
}

describe('decodeBoundedMsgpack', () => {
  for (const { type, widths } of SIZED) {
    for (const [size, prefix] of Object.entries(widths)) {
      const width = Number(size) as 1 | 2 | 4;
      it(`${type} with a ${width * 8}-bit length decodes as notepack does`, () => {
        decodesLikeNotepack(sizedFrame(type, prefix, width));
      });
      it(`${type} with a ${width * 8}-bit length claiming more than the frame holds is rejected`, () => {
        const max = 2 ** (width * 8) - 1;
        for (const claim of [4, 2 ** 16, 2 ** 31, max].filter((c) => c <= max)) {
          rejects(
            bytes(prefix, be(claim, width), type === 'ext' ? [0] : [], [1, 2, 3]),
            'length_exceeds_frame',
          );
        }
      });
      it(`${type} with a ${width * 8}-bit length cut inside its header is rejected as truncated`, () => {
        rejects(bytes(prefix, Buffer.alloc(width - 1)), 'truncated');
      });
    }
  }

  it('fixstr, fixarray and fixmap claiming more than the frame holds are rejected', () => {
    rejects(bytes(0xbf, Buffer.from('abc')), 'length_exceeds_frame');
    rejects(bytes(0x9f, [1, 2]), 'length_exceeds_frame');
    rejects(bytes(0x8f, [0xa1, 0x61, 1]), 'length_exceeds_frame');
  });

  it('fixext 1, 2, 4, 8 and 16 decode as notepack does, including its undefined, Date and ArrayBuffer', () => {
    for (const [prefix, size] of [
      [0xd4, 1],
      [0xd5, 2],
      [0xd6, 4],
      [0xd7, 8],
      [0xd8, 16],
    ] as const) {
      decodesLikeNotepack(bytes(prefix, 0x07, Buffer.alloc(size, 9)));
      rejects(bytes(prefix, 0x07, Buffer.alloc(size - 1, 9)), 'length_exceeds_frame');
    }
    assert.equal(decodesLikeNotepack(notepack.encode(undefined)), undefined);
    assert.deepEqual(
      decodesLikeNotepack(notepack.encode(new Date(1_700_000_000_123))),
      new Date(1_700_000_000_123),
    );
    const buffer = decodesLikeNotepack(notepack.encode(Uint8Array.of(1, 2, 3).buffer));
    assert.ok(buffer instanceof ArrayBuffer);
  });

  it('numbers of every width decode as notepack does; a truncated number is rejected', () => {
    const numbers = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
    const all = [...numbers, ...numbers.map((n) => -n), -32, -33, 1.5, -0.25, 1e300, Number.NaN];
    for (const n of all) {
      const frame = notepack.encode(n);
      decodesLikeNotepack(frame);
      if (frame.length > 1) rejects(frame.subarray(0, frame.length - 1), 'truncated');
    }
    decodesLikeNotepack(bytes(0xca, [0x3f, 0xc0, 0, 0]));
  });

  it('every proper prefix of a valid frame is rejected, never read past its end', () => {
    const frame = notepack.encode({ a: [1, 'two', { three: Buffer.from([3]) }], b: 2 ** 40, c: -1.5 });
    for (let n = 0; n < frame.length; n++) {
      assert.throws(() => decodeBoundedMsgpack(frame.subarray(0, n)), MsgpackBoundsError);
    }
  });

  it('nesting deeper than maxDepth is rejected; maxDepth levels decode', () => {
    const nested = (levels: number) => bytes(Buffer.alloc(levels, 0x91), 0x01);
    assert.doesNotThrow(() => decodeBoundedMsgpack(nested(32)));
    rejects(nested(33), 'too_deep');
    rejects(nested(100_000), 'too_deep');
  });

  it('more values than maxValues are rejected before the container is built', () => {
    const many = (n: number) => bytes(0xdc, be(n, 2), Buffer.alloc(n, 0xc0));
    assert.equal((decodeBoundedMsgpack(many(9_999)) as unknown[]).length, 9_999);
    rejects(many(10_000), 'too_many_values');
    const limits = { maxDepth: 4, maxValues: 5 };
    assert.throws(() => decodeBoundedMsgpack(bytes(0x95, [1, 2, 3, 4, 5]), limits), /more than 5 values/);
  });

  it('reserved 0xc1, trailing bytes, empty frames and non-scalar map keys are rejected', () => {
    rejects(bytes(0xc1), 'reserved_byte');
    rejects(bytes(0x01, 0x02), 'trailing_bytes');
    rejects(bytes(), 'truncated');
    rejects(bytes(0x81, 0x90, 0x01), 'invalid_map_key');
    rejects(bytes(0x81, 0xc0, 0x01), 'invalid_map_key');
  });

  it('a "__proto__" key is an own property, the prototype is untouched', () => {
    const value = decodeBoundedMsgpack(
      notepack.encode(JSON.parse('{"__proto__": {"polluted": true}}')),
    ) as object;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, { polluted: true });
  });

  it('real Waterbus payloads round-trip: SDP offers, nested candidates, booleans, null, binary', () => {
    const sdp = readFileSync(
      new URL('../../test/fixtures/sdp/publisher-simulcast.sdp', import.meta.url),
      'utf8',
    );
    const candidate = {
      candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
    };
    const packets = [
      { type: 0, nsp: '/', data: { token: 'eyJhbGciOiJIUzI1NiJ9.e30.sig' } },
      {
        type: 2,
        nsp: '/',
        id: 7,
        data: [
          'room.publish',
          {
            sdp,
            roomId: '12',
            participantId: '34',
            isVideoEnabled: true,
            isAudioEnabled: false,
            isE2eeEnabled: false,
            totalTracks: 2,
            connectionType: 1,
          },
        ],
      },
      {
        type: 2,
        nsp: '/',
        data: ['room.subscriber_candidate', { targetId: '5', roomId: 12, connectionType: 1, candidate }],
      },
      {
        type: 3,
        nsp: '/',
        id: 2 ** 31,
        data: [{ error: null, sdpMLineIndex: null, big: 2 ** 40, neg: -(2 ** 33), f: 0.1 }],
      },
      {
        type: 2,
        nsp: '/',
        data: ['chat', Buffer.from('\u00e9\u4e2d\ud83d\ude00'), { emoji: '\u00e9\u4e2d\ud83d\ude00' }],
      },
    ];
    for (const packet of packets)
      assert.deepStrictEqual(decodesLikeNotepack(notepack.encode(packet)), packet);
  });
});
