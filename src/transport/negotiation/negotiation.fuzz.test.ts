import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzParser, fuzzRuns } from '../../../test/fuzz/byte-fuzz.ts';
import { SfuError } from '../../lib/errors.ts';
import type { LocalTransportParameters } from '../media-transport.ts';
import {
  type CodecParameters,
  createPublisherAnswer,
  parseRemoteDescription,
  parseSubscriberAnswer,
  type SubscriberSdpState,
} from './index.ts';

/**
 * Fuzz target: SDP offers and answers from clients (room.publish, the subscriber's answer), mutated
 * line-wise (lines dropped, repeated, swapped, moved between fixtures, tokens replaced by extreme
 * values) and byte-wise. The parser and the answer builder either work or throw SfuError
 * ('invalid_argument'); a TypeError or RangeError from deeper down is a bug.
 */

const DEFAULT_RUNS = 800;
const dir = new URL('../../../test/fixtures/sdp/', import.meta.url);
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.sdp'))
  .sort();
const fixtures = names.map((f) => readFileSync(new URL(f, dir), 'utf8').replace(/\r?\n/g, '\r\n'));
const allLines = fixtures.flatMap((f) => f.split('\r\n').filter(Boolean));

const LOCAL: LocalTransportParameters = {
  iceUfrag: 'srvU',
  icePwd: 'server-password-0123456789',
  iceLite: true,
  fingerprint: { algorithm: 'sha-256', value: `${'AB:'.repeat(31)}AB` },
  candidates: [
    {
      foundation: '1',
      component: 1,
      protocol: 'udp',
      priority: 1,
      ip: '127.0.0.1',
      port: 40_000,
      type: 'host',
    },
  ],
};

const codec = (mimeType: string, payloadType: number, clockRate: number, rtx?: number): CodecParameters => ({
  mimeType,
  payloadType,
  clockRate,
  fmtp: {},
  rtcpFeedback: [],
  rtxPayloadType: rtx,
});
/** What the server offered for test/fixtures/sdp/subscriber-answer.sdp: audio 0, video 1 (RTX), data 2. */
const OFFERED: SubscriberSdpState = {
  sessionId: '1',
  version: 2,
  sections: [
    {
      mid: '0',
      active: true,
      kind: 'audio',
      trackId: 'a',
      streamId: 's',
      codec: codec('audio/opus', 111, 48_000),
      ssrc: 1,
      cname: 'c',
      headerExtensions: [],
    },
    {
      mid: '1',
      active: true,
      kind: 'video',
      trackId: 'v',
      streamId: 's',
      codec: codec('video/VP8', 96, 90_000, 97),
      ssrc: 2,
      rtxSsrc: 3,
      cname: 'c',
      headerExtensions: [],
    },
  ],
  application: { mid: '2', position: 2 },
};

function isClean(err: unknown): boolean {
  return err instanceof SfuError && err.code === 'invalid_argument';
}

/** Everything a handler does with a client's SDP: parse it as an offer and answer it, or read it as an answer. */
function handle(sdp: string): unknown {
  const results: unknown[] = [];
  for (const run of [
    () => createPublisherAnswer(parseRemoteDescription(sdp), LOCAL),
    () => parseSubscriberAnswer(sdp, OFFERED),
  ]) {
    try {
      results.push(run());
    } catch (err) {
      if (!isClean(err)) throw err;
    }
  }
  return results;
}

const EXTREMES = [
  '',
  '0',
  '-1',
  '65536',
  '4294967296',
  '1e999',
  'NaN',
  '__proto__',
  'a'.repeat(300),
  ':',
  ' ',
  '/',
  '=',
];

type LineEdit =
  | { kind: 'delete' | 'repeat'; at: number; n: number }
  | { kind: 'swap'; at: number; other: number }
  | { kind: 'foreign'; at: number; line: number }
  | { kind: 'token'; at: number; token: number; value: string };

function edit(): fc.Arbitrary<LineEdit> {
  const at = fc.nat();
  return fc.oneof(
    fc.record({
      kind: fc.constantFrom('delete' as const, 'repeat' as const),
      at,
      n: fc.integer({ min: 1, max: 70 }),
    }),
    fc.record({ kind: fc.constant('swap' as const), at, other: fc.nat() }),
    fc.record({ kind: fc.constant('foreign' as const), at, line: fc.nat(allLines.length - 1) }),
    fc.record({
      kind: fc.constant('token' as const),
      at,
      token: fc.nat(8),
      value: fc.oneof(fc.constantFrom(...EXTREMES), fc.string({ maxLength: 12 })),
    }),
  );
}

function applyEdit(lines: string[], e: LineEdit): string[] {
  if (lines.length === 0) return lines;
  const at = e.at % lines.length;
  const out = [...lines];
  if (e.kind === 'delete') out.splice(at, e.n);
  else if (e.kind === 'repeat') out.splice(at, 0, ...Array<string>(Math.min(e.n, 70)).fill(lines[at]!));
  else if (e.kind === 'swap')
    [out[at], out[e.other % lines.length]] = [out[e.other % lines.length]!, out[at]!];
  else if (e.kind === 'foreign') out.splice(at, 0, allLines[e.line]!);
  else if (e.kind === 'token') {
    const tokens = out[at]!.split(/([ :=/;])/);
    tokens[(e.token * 2) % tokens.length] = e.value;
    out[at] = tokens.join('');
  }
  return out;
}

describe('SDP offer/answer fuzz target', () => {
  it('line-wise mutated fixture SDPs are answered or refused with SfuError invalid_argument', () => {
    const seed = Number(process.env.FUZZ_SEED);
    fc.assert(
      fc.property(
        fc.nat(fixtures.length - 1),
        fc.array(edit(), { minLength: 1, maxLength: 6 }),
        (which, edits) => {
          const sdp = edits.reduce(applyEdit, fixtures[which]!.split('\r\n')).join('\r\n');
          const started = performance.now();
          handle(sdp);
          assert.ok(performance.now() - started < 1000, 'one SDP handled promptly');
        },
      ),
      { numRuns: fuzzRuns(DEFAULT_RUNS), ...(Number.isInteger(seed) ? { seed } : {}) },
    );
  });

  it('byte-wise mutated and truncated fixture SDPs are answered or refused with SfuError invalid_argument', () => {
    fuzzParser(
      {
        parse: (bytes) => handle(Buffer.from(bytes).toString('utf8')),
        isCleanError: () => false,
      },
      {
        seeds: fixtures.map((f) => new Uint8Array(Buffer.from(f))),
        lengthPrefixes: [0x3d, 0x3a, 0x20],
        defaultRuns: DEFAULT_RUNS,
      },
    );
  });

  it('the fixtures themselves are accepted (the mutations start from valid SDP)', () => {
    for (const sdp of fixtures.filter((f) => !f.includes('a=setup:active'))) {
      assert.ok(createPublisherAnswer(parseRemoteDescription(sdp), LOCAL).sdp.startsWith('v=0'));
    }
    // Answers (a=setup:active) fit their own offers: subscriber-answer.sdp is the one for OFFERED.
    assert.ok(parseSubscriberAnswer(fixtures[names.indexOf('subscriber-answer.sdp')]!, OFFERED));
  });
});
