import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { fuzzRuns } from '../../../test/fuzz/byte-fuzz.ts';
import {
  attachDownTracks,
  type CaptureSession,
  expectSource,
  outOfBand,
  type PacketStep,
  packetStep,
  SESSIONS,
  StreamShaper,
} from '../../../test/fuzz/media-fuzz.ts';
import { rtpHeaderBytes } from '../../rtp/rtp-packet.ts';
import { UpTrack } from './up-track.ts';

/**
 * Fuzz target: DownTrack's packet build under the subscriber's and the allocator's actions, fed
 * with mutated captured streams: layer targets up and down (urgent or not, paused), NACKs of
 * recent and unknown sequence numbers (answered over RTX, with the VP8 fields as first sent),
 * probe padding, time passing. Properties: nothing throws; every packet written is valid RTP of
 * the DownTrack's SSRC and payload type (or its RTX ones); media sequence numbers increase in a
 * run (DownstreamChecker); probes and resends stay within what was asked. `FUZZ_RUNS` raises the
 * number of streams per codec.
 */

const DEFAULT_RUNS = 150;

type Step =
  | PacketStep
  | { kind: 'target'; spatial: number; temporal: number; urgent: boolean }
  | { kind: 'nack'; back: number[] }
  | { kind: 'padding'; bytes: number }
  | { kind: 'tick'; ms: number };

function steps(session: CaptureSession): fc.Arbitrary<Step[]> {
  const action = fc.oneof(
    fc.record({
      kind: fc.constant('target' as const),
      spatial: fc.integer({ min: -1, max: 3 }),
      temporal: fc.integer({ min: 0, max: 3 }),
      urgent: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('nack' as const),
      back: fc.array(fc.oneof(fc.integer({ min: -2, max: 30 }), fc.integer({ min: 0, max: 1100 })), {
        minLength: 1,
        maxLength: 20,
      }),
    }),
    fc.record({ kind: fc.constant('padding' as const), bytes: fc.integer({ min: 0, max: 3000 }) }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 2500 }) }),
  );
  return fc.array(fc.oneof({ weight: 6, arbitrary: packetStep(session) }, { weight: 1, arbitrary: action }), {
    minLength: 1,
    maxLength: 80,
  });
}

function run(session: CaptureSession, trace: Step[]): void {
  const clock = new ManualClock();
  const up = new UpTrack({
    trackId: 'track',
    streamId: 'stream',
    mid: '0',
    kind: session.kind,
    codec: session.codec,
    rids: session.rids,
    headerExtensions: session.headerExtensions,
    clock,
    sendPli: () => undefined,
  });
  for (const [i, ssrc] of session.ssrcs.entries()) up.addLayer(ssrc, session.rids[i]);
  const downstream = attachDownTracks(up);
  const shaper = new StreamShaper(session);
  for (const step of trace) act(step, { clock, up, downstream, shaper });
  for (const { down, checker } of downstream) {
    assert.ok(down.packetsSent <= checker.packets);
    down.close();
  }
  assert.equal(up.sinks.size, 0);
}

interface Run {
  clock: ManualClock;
  up: UpTrack;
  downstream: ReturnType<typeof attachDownTracks>;
  shaper: StreamShaper;
}

function act(step: Step, { clock, up, downstream, shaper }: Run): void {
  if (step.kind === 'rtp') {
    const buf = shaper.shape(step);
    const headerBytes = rtpHeaderBytes(buf);
    if (headerBytes < 0) return;
    expectSource(downstream, buf);
    up.onRtp(buf, headerBytes, buf.readUInt32BE(8));
  } else if (step.kind === 'target') {
    for (const { down } of downstream) down.setTarget(step, step.urgent);
  } else if (step.kind === 'tick') {
    clock.advance(step.ms);
  } else {
    outOfBand(downstream, () => {
      for (const { down, checker } of downstream) {
        const before = checker.packets;
        if (step.kind === 'padding') {
          const sent = down.sendPadding(step.bytes);
          assert.ok(sent <= step.bytes + 12 + 8 + 255, `${sent} bytes of padding for ${step.bytes}`);
          if (sent === 0) assert.equal(checker.packets, before);
        } else {
          // Around the last media sequence number sent: recent ones, unknown ones, evicted ones.
          const last = Math.max(0, checker.highestOut);
          down.retransmit(step.back.map((b) => (last - b) & 0xffff));
          assert.ok(checker.packets - before <= step.back.length, 'more resent than asked for');
        }
      }
    });
  }
}

describe('DownTrack fuzz target', () => {
  for (const session of SESSIONS) {
    it(`${session.name}: target changes, NACKs and probes around mutated streams write valid RTP in order`, () => {
      const seed = Number(process.env.FUZZ_SEED);
      fc.assert(
        fc.property(steps(session), (trace) => run(session, trace)),
        { numRuns: fuzzRuns(DEFAULT_RUNS), ...(Number.isInteger(seed) ? { seed } : {}) },
      );
    });
  }
});
