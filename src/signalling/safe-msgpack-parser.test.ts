import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import msgpackParser from 'socket.io-msgpack-parser';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { MsgpackBoundsError, type MsgpackRejectReason } from './msgpack-bounds.ts';
import {
  createSafeMsgpackParser,
  decodeSocketIoPacket,
  frameRejectionReporter,
} from './safe-msgpack-parser.ts';

const require = createRequire(import.meta.resolve('socket.io-msgpack-parser'));
const notepack = require('notepack.io') as { encode(v: unknown): Buffer };

function decodeWith(parser: ReturnType<typeof createSafeMsgpackParser>, frame: unknown): unknown[] {
  const decoder = new parser.Decoder();
  const packets: unknown[] = [];
  decoder.on('decoded', (p: unknown) => packets.push(p));
  decoder.add(frame);
  return packets;
}

describe('createSafeMsgpackParser', () => {
  it('encodes byte for byte as socket.io-msgpack-parser 3.0.2', () => {
    const ours = new (createSafeMsgpackParser().Encoder)();
    const theirs = new msgpackParser.Encoder();
    const packets = [
      { type: 0, nsp: '/', data: { sid: 'abc' } },
      { type: 2, nsp: '/', data: ['room.publish', { sdp: 'v=0\r\n'.repeat(500), isRecording: false }] },
      { type: 3, nsp: '/', id: 12, data: [{ error: { code: 'invalid_argument', message: 'é' } }] },
      { type: 2, nsp: '/', data: ['bin', Buffer.from([1, 2, 3]), 2 ** 40, -1.5, null, true] },
    ];
    for (const packet of packets) assert.deepEqual(ours.encode(packet), theirs.encode(packet));
  });

  it('decodes the packets a Waterbus client sends, as socket.io-msgpack-parser does', () => {
    const parser = createSafeMsgpackParser();
    const theirs = new msgpackParser.Decoder();
    const packets = [
      { type: 0, nsp: '/', data: { token: 't' } },
      { type: 0, nsp: '/' },
      { type: 1, nsp: '/' },
      { type: 2, nsp: '/', id: 3, data: ['room.leave', {}] },
      { type: 4, nsp: '/', data: 'nope' },
    ];
    for (const packet of packets) {
      const frame = notepack.encode(packet);
      const expected: unknown[] = [];
      theirs.on('decoded', (p: unknown) => expected.push(p));
      theirs.add(frame);
      theirs.removeAllListeners();
      assert.deepStrictEqual(decodeWith(parser, frame), expected);
      assert.deepStrictEqual(decodeWith(parser, new Uint8Array(frame).buffer), expected);
    }
  });

  it('rejects frames that are not valid socket.io packets, reporting each with its reason', () => {
    const rejected: Array<[MsgpackRejectReason, number]> = [];
    const parser = createSafeMsgpackParser({ onRejected: (reason, n) => rejected.push([reason, n]) });
    const invalid = [
      { type: 5, nsp: '/', data: [] },
      { type: 1.5, nsp: '/', data: [] },
      { type: 2, data: ['x'] },
      { type: 2, nsp: '/', data: { not: 'an array' } },
      { type: 2, nsp: '/', id: 'one', data: ['x'] },
      { type: 1, nsp: '/', data: 'bye' },
      { type: 0, nsp: '/', data: ['x'] },
      ['not', 'a', 'map'],
    ];
    for (const packet of invalid) {
      assert.throws(
        () => decodeWith(parser, notepack.encode(packet)),
        MsgpackBoundsError,
        JSON.stringify(packet),
      );
    }
    assert.throws(() => decodeWith(parser, '2["text frame"]'), /expected a binary frame/);
    assert.throws(
      () => decodeWith(parser, Buffer.from([0xc9, 0xff, 0xff, 0xff, 0xff, 0x00])),
      /frame too short/,
    );
    assert.deepEqual(
      rejected.map(([reason]) => reason),
      [...invalid.map(() => 'invalid_packet'), 'not_binary', 'length_exceeds_frame'],
    );
    assert.deepEqual(rejected.at(-1), ['length_exceeds_frame', 6]);
  });

  it('decodeSocketIoPacket rejects a bomb inside an event before allocating it', () => {
    const prefix = notepack.encode({ type: 2, nsp: '/', data: ['x', 0] });
    const bomb = Buffer.concat([prefix.subarray(0, -1), Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])]);
    assert.throws(() => decodeSocketIoPacket(bomb), /items claimed, frame too short/);
  });
});

describe('frameRejectionReporter', () => {
  it('counts every rejected frame by reason and logs a warning at most once per interval', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const warnings: unknown[] = [];
    const log = silentLogger();
    log.warn = ((obj: unknown) => warnings.push(obj)) as typeof log.warn;
    let now = 0;
    const report = frameRejectionReporter(metrics, log, { intervalMs: 1000, now: () => now });
    for (let i = 0; i < 500; i++) report('length_exceeds_frame', 6);
    now = 999;
    report('truncated', 2);
    now = 1000;
    report('truncated', 3);
    assert.deepEqual(warnings, [
      { reason: 'length_exceeds_frame', frameBytes: 6, unloggedSinceLast: 0 },
      { reason: 'truncated', frameBytes: 3, unloggedSinceLast: 500 },
    ]);
    const counted = (await metrics.socketFramesRejected.get()).values.map((v) => [v.labels.reason, v.value]);
    assert.deepEqual(counted, [
      ['length_exceeds_frame', 500],
      ['truncated', 2],
    ]);
  });
});
