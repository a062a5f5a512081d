import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import msgpackParser from 'socket.io-msgpack-parser';
import { fuzzParser } from '../../test/fuzz/byte-fuzz.ts';
import { decodeBoundedMsgpack, MsgpackBoundsError } from './msgpack-bounds.ts';
import { decodeSocketIoPacket } from './safe-msgpack-parser.ts';

/**
 * Fuzz target: the socket frame decoder. A few thousand inputs here; `npm run fuzz:socket` runs
 * the same properties with `FUZZ_RUNS` (default there: 200 000).
 */

const require = createRequire(import.meta.resolve('socket.io-msgpack-parser'));
const notepack = require('notepack.io') as { decode(b: Uint8Array): unknown };

const DEFAULT_RUNS = 10_000;
/** Every prefix followed by a length: bin, ext, str 8/16/32, array and map 16/32. */
const LENGTH_PREFIXES = [0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf];

function seeds(): Uint8Array[] {
  const encoder = new msgpackParser.Encoder();
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
      id: 1,
      data: ['room.publish', { sdp: sdp.slice(0, 600), roomId: '1', isVideoEnabled: true }],
    },
    { type: 2, nsp: '/', data: ['room.publisher_candidate', { candidate, connectionType: 1, roomId: 12 }] },
    {
      type: 3,
      nsp: '/',
      id: 70_000,
      data: [{ error: null, n: -(2 ** 40), f: 1.25, d: new Date(0), u: undefined }],
    },
    { type: 2, nsp: '/', data: ['bin', Buffer.from([1, 2, 3]), Uint8Array.of(4, 5).buffer, [[[]]], {}] },
  ];
  return packets.map((p) => new Uint8Array((encoder.encode(p) as unknown as Buffer[])[0]!));
}

describe('socket frame decoder fuzz target', () => {
  it('random, mutated and truncated msgpack frames decode as notepack.io does or throw MsgpackBoundsError, promptly and without over-allocating', () => {
    fuzzParser(
      {
        parse: (bytes) => decodeBoundedMsgpack(bytes),
        isCleanError: (err) => err instanceof MsgpackBoundsError,
        check(bytes, value) {
          // A "__proto__" key is an own property here, a prototype in notepack: not comparable.
          if (Buffer.from(bytes).includes('__proto__')) return;
          assert.deepStrictEqual(value, notepack.decode(Buffer.from(bytes)));
        },
      },
      { seeds: seeds(), lengthPrefixes: LENGTH_PREFIXES, defaultRuns: DEFAULT_RUNS },
    );
  });

  it('the same frames as socket.io packets are accepted or rejected with MsgpackBoundsError', () => {
    fuzzParser(
      {
        parse: (bytes) => decodeSocketIoPacket(bytes),
        isCleanError: (err) => err instanceof MsgpackBoundsError,
      },
      { seeds: seeds(), lengthPrefixes: LENGTH_PREFIXES, defaultRuns: DEFAULT_RUNS },
    );
  });
});
