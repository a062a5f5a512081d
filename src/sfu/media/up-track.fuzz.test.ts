import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { fuzzRuns } from '../../../test/fuzz/byte-fuzz.ts';
import {
  attachDownTracks,
  type CaptureSession,
  expectSource,
  type PacketStep,
  packetStep,
  SESSIONS,
  StreamShaper,
} from '../../../test/fuzz/media-fuzz.ts';
import { newRtpLayout, readRtpLayout, rtpHeaderBytes } from '../../rtp/rtp-packet.ts';
import { MAX_SPATIAL_LAYERS, MAX_TEMPORAL_LAYERS } from '../qos/video-layer.ts';
import { type MediaPacket, UpTrack } from './up-track.ts';

/**
 * Fuzz target: UpTrack's per-packet describe (keyframe detection, VP8/VP9 descriptors, temporal
 * and spatial ids, the AV1 dependency descriptor, layer sync, per-layer byte counts) with three
 * DownTracks attached, fed with streams of captured Chromium packets (corpus/rtp, transport-rtp)
 * mutated, truncated and given any padding count. Properties: nothing throws; what reaches the
 * sinks is a valid RTP packet whose fields are in range; what the DownTracks write is valid RTP
 * with sequence numbers increasing in a run (DownstreamChecker); memory stays bounded (no more
 * layers than the track has). `FUZZ_RUNS` raises the number of streams per codec.
 */

const DEFAULT_RUNS = 150;
const LAYOUT = newRtpLayout();

type Step = PacketStep | { kind: 'tick'; ms: number };

function steps(session: CaptureSession): fc.Arbitrary<Step[]> {
  const tick = fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 3000 }) });
  return fc.array(fc.oneof({ weight: 12, arbitrary: packetStep(session) }, { weight: 1, arbitrary: tick }), {
    minLength: 1,
    maxLength: 60,
  });
}

/** What a sink may rely on in every MediaPacket. */
function checkPacket(p: MediaPacket, up: UpTrack): void {
  assert.ok(readRtpLayout(p.buffer, LAYOUT), 'a packet with an invalid layout reached the sinks');
  assert.equal(p.headerBytes, rtpHeaderBytes(p.buffer));
  assert.equal(p.ssrc, p.buffer.readUInt32BE(8));
  assert.equal(p.sequenceNumber, p.buffer.readUInt16BE(2));
  assert.equal(up.layerIndexOf(p.ssrc), p.layer);
  assert.ok(
    Number.isInteger(p.spatial) && p.spatial >= 0 && p.spatial < MAX_SPATIAL_LAYERS,
    `spatial ${p.spatial}`,
  );
  assert.ok(
    Number.isInteger(p.temporal) && p.temporal >= -1 && p.temporal < MAX_TEMPORAL_LAYERS,
    `temporal ${p.temporal}`,
  );
  if (!up.svc) assert.equal(p.spatial, p.layer);
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
  let described = 0;
  up.sinks.add({
    writeRtp: (p) => {
      described++;
      checkPacket(p, up);
    },
  });
  const downstream = attachDownTracks(up);
  const shaper = new StreamShaper(session);
  let fed = 0;
  for (const step of trace) {
    if (step.kind === 'tick') {
      clock.advance(step.ms);
      up.bitratesBps();
      continue;
    }
    const buf = shaper.shape(step);
    const headerBytes = rtpHeaderBytes(buf);
    // The UpTrack's callers (Publisher, RemoteUpTrack) pass only packets whose header parses.
    if (headerBytes < 0) continue;
    expectSource(downstream, buf);
    if (up.hasSsrc(buf.readUInt32BE(8)) && readRtpLayout(buf, LAYOUT)) fed++;
    up.onRtp(buf, headerBytes, buf.readUInt32BE(8));
  }
  assert.equal(described, fed, 'every valid packet of a layer is described, no other');
  assert.equal(up.layerCount, session.ssrcs.length);
  for (const rates of up.bitratesBps()) for (const bps of rates) assert.ok(Number.isFinite(bps) && bps >= 0);
  up.close();
}

describe('UpTrack + DownTracks fuzz target', () => {
  for (const session of SESSIONS) {
    it(`${session.name}: mutated captured streams are described in range and forwarded as valid RTP`, () => {
      const seed = Number(process.env.FUZZ_SEED);
      fc.assert(
        fc.property(steps(session), (trace) => run(session, trace)),
        { numRuns: fuzzRuns(DEFAULT_RUNS), ...(Number.isInteger(seed) ? { seed } : {}) },
      );
    });
  }
});
