import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { fuzzRuns } from '../../../test/fuzz/byte-fuzz.ts';
import {
  attachDownTracks,
  type Downstream,
  expectSource,
  type PacketStep,
  packetStep,
  RID_ID,
  SESSIONS,
  StreamShaper,
} from '../../../test/fuzz/media-fuzz.ts';
import type { ParticipantId } from '../../lib/ids.ts';
import { findHeaderExtension, rewriteHeaderExtensionId } from '../../rtp/rtp-extensions.ts';
import { rtpHeaderBytes } from '../../rtp/rtp-packet.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import { type PublishedTrack, Publisher } from './publisher.ts';

/**
 * Fuzz target: Publisher#onRtp and #onRtx, the first reader of every RTP packet a publisher sends
 * (SSRC → track, simulcast layers learnt from mid/rid, RTX unwrapped by its OSN, padding-only
 * probes and duplicates dropped, NACK and receive-stats bookkeeping), fed with the captured VP8
 * simulcast and Opus streams of corpus/rtp, mutated, and with RTX packets wrapped from them
 * (repaired-rid, any OSN, padding-only, any padding count). Properties: nothing throws; the
 * DownTracks behind write only valid RTP in order (DownstreamChecker); memory stays bounded: a
 * track never has more layers than rids, whatever SSRCs arrive. `FUZZ_RUNS` raises the number of
 * streams.
 */

const DEFAULT_RUNS = 200;
const REPAIRED_RID_ID = 11;
const RTX_PT = 97;
const VP8 = SESSIONS.find((s) => s.name === 'vp8-simulcast')!;
const OPUS = SESSIONS.find((s) => s.name === 'opus')!;
/** One RTX SSRC per layer. */
const RTX_SSRCS = [0x3000, 0x3001, 0x3002];

type Step =
  | { kind: 'media'; audio: boolean; step: PacketStep }
  | {
      kind: 'rtx';
      step: PacketStep;
      /** Undefined: the RTX SSRC of the step's layer. */
      rtxSsrc: number | undefined;
      osn: number | undefined;
      paddingOnly: boolean;
      count: number;
    }
  | { kind: 'tick'; ms: number };

const steps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: packetStep(VP8).map((step) => ({ kind: 'media' as const, audio: false, step })) },
    { weight: 2, arbitrary: packetStep(OPUS).map((step) => ({ kind: 'media' as const, audio: true, step })) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('rtx' as const),
        step: packetStep(VP8),
        rtxSsrc: fc.option(fc.nat(0xffffffff), { freq: 6, nil: undefined }),
        osn: fc.option(fc.integer({ min: -30, max: 2 }), { freq: 3, nil: undefined }),
        paddingOnly: fc.boolean(),
        count: fc.nat(255),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 1500 }) }),
    },
  ),
  { minLength: 1, maxLength: 60 },
);

function track(session: typeof VP8, mid: string, rtxPayloadType?: number): PublishedTrack {
  return {
    mid,
    kind: session.kind,
    trackId: session.name,
    streamId: 'stream',
    codec: { ...session.codec, rtxPayloadType },
    ssrcs: session.rids.length > 0 ? [] : session.ssrcs,
    rids: session.rids,
    headerExtensions: [
      ...session.headerExtensions,
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id', id: REPAIRED_RID_ID },
    ],
  };
}

/** A simulcast packet of layer i names rid i (the captured ones all say `q`). */
function setRid(buf: Buffer, layer: number | undefined): void {
  const range = { offset: 0, length: 0 };
  if (layer !== undefined && findHeaderExtension(buf, RID_ID, range) && range.length === 1)
    buf[range.offset] = VP8.rids[layer]!.charCodeAt(0);
}

/** RFC 4588 §4: the RTX payload is the original sequence number, then the original payload. */
function wrapRtx(media: Buffer, s: Extract<Step, { kind: 'rtx' }>, lastSeq: number): Buffer {
  const headerBytes = rtpHeaderBytes(media);
  if (headerBytes < 0) return media;
  const out = Buffer.concat([
    media.subarray(0, headerBytes),
    Buffer.alloc(2),
    s.paddingOnly ? Buffer.alloc(0) : media.subarray(headerBytes),
  ]);
  out[1] = (out[1]! & 0x80) | RTX_PT;
  out.writeUInt32BE(s.rtxSsrc ?? RTX_SSRCS[s.step.layer ?? 0]!, 8);
  out.writeUInt16BE((lastSeq + (s.osn ?? 0)) & 0xffff, headerBytes);
  rewriteHeaderExtensionId(out, RID_ID, REPAIRED_RID_ID);
  if (s.paddingOnly || s.osn === undefined) {
    // A probe: the P bit and a count (any: it may not fit).
    out[0] = out[0]! | 0x20;
    out[out.length - 1] = s.count;
  }
  return out;
}

function fakeTransport(): WebRtcTransport {
  const t = {
    state: 'connected',
    onRtp: null as ((p: Buffer) => void) | null,
    onRtcp: null,
    sendRtp: () => undefined,
    sendRtcp: () => undefined,
    close: () => undefined,
    readArrivalUs: (out: Float64Array) => {
      out[0] = performance.now() * 1000;
    },
  };
  return t as unknown as WebRtcTransport;
}

function run(trace: Step[]): void {
  const clock = new ManualClock();
  const transport = fakeTransport();
  const publisher = new Publisher({
    participantId: 'p1' as ParticipantId,
    transport,
    clock,
    mediaState: { audioEnabled: true, videoEnabled: true } as never,
    totalTracks: 2,
    onReady: () => undefined,
  });
  const downstream: Downstream[] = [];
  publisher.onTrackAdded = (up) => downstream.push(...attachDownTracks(up));
  publisher.addTracks([track(VP8, '0', RTX_PT), track(OPUS, '1')]);
  const shapers = { video: new StreamShaper(VP8), audio: new StreamShaper(OPUS) };
  const lastSeq = new Map<number, number>();
  for (const s of trace) {
    if (s.kind === 'tick') {
      clock.advance(s.ms);
      continue;
    }
    const buf = (s.kind === 'media' && s.audio ? shapers.audio : shapers.video).shape(s.step);
    setRid(buf, s.step.layer);
    const ssrc = buf.length >= 12 ? buf.readUInt32BE(8) : -1;
    if (ssrc >= 0 && s.kind === 'media') lastSeq.set(ssrc, buf.readUInt16BE(2));
    const repaired =
      s.kind === 'rtx' && s.osn !== undefined ? ((lastSeq.get(ssrc) ?? 0) + s.osn) & 0xffff : undefined;
    const packet = s.kind === 'rtx' ? wrapRtx(buf, s, lastSeq.get(ssrc) ?? 0) : buf;
    // The checkers judge order by the media packet an RTX repair carries: its original sequence
    // number, not the one of the packet it was cut from (FUZZ_SEED=365280070: a repair of a lost
    // packet older than the newest was judged as a new one).
    expectSource(downstream, buf, repaired);
    transport.onRtp!(packet);
  }
  for (const up of publisher.tracks.values())
    assert.ok(
      up.layerCount <= Math.max(1, up.rids.length),
      `${up.layerCount} layers for ${up.rids.length} rids`,
    );
  publisher.close();
}

describe('Publisher fuzz target', () => {
  it('mutated captured streams and RTX wrapped from them reach the DownTracks as valid RTP, layers bounded', () => {
    const seed = Number(process.env.FUZZ_SEED);
    fc.assert(
      fc.property(steps, (trace) => run(trace)),
      { numRuns: fuzzRuns(DEFAULT_RUNS), ...(Number.isInteger(seed) ? { seed } : {}) },
    );
  });
});
