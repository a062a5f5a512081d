import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEPENDENCY_DESCRIPTOR_URI } from '../../src/rtp/dependency-descriptor.ts';
import { newRtpLayout, readRtpLayout } from '../../src/rtp/rtp-packet.ts';
import { DownTrack } from '../../src/sfu/media/down-track.ts';
import type { TrackCodec, UpTrack } from '../../src/sfu/media/up-track.ts';
import { EXTENSION_URI } from '../../src/transport/negotiation/index.ts';
import { fuzzBytes } from './byte-fuzz.ts';
import { corpusSeeds } from './corpus.ts';

/**
 * Shared pieces of the SFU media-path fuzz targets (src/sfu/media/*.fuzz.test.ts): the captured
 * Chromium sessions of corpus/rtp as track descriptions (codec, rids, the extension ids the
 * capture negotiated), packet arbitraries built from their seeds, and the checker of what a
 * DownTrack writes downstream.
 */

export interface CaptureSession {
  name: string;
  kind: 'audio' | 'video';
  codec: TrackCodec;
  rids: string[];
  headerExtensions: Array<{ uri: string; id: number }>;
  /** The SSRCs the fuzz feeds this track with (one per layer; the seeds' own is rewritten). */
  ssrcs: number[];
  seeds: Uint8Array[];
}

/** Extension ids as werift answered Chromium in test/fuzz/capture-rtp.ts (same in every session). */
const VIDEO_EXTENSIONS = [
  { uri: EXTENSION_URI.absSendTime, id: 2 },
  { uri: EXTENSION_URI.transportCc, id: 4 },
  { uri: EXTENSION_URI.mid, id: 9 },
  { uri: EXTENSION_URI.rid, id: 10 },
  { uri: DEPENDENCY_DESCRIPTOR_URI, id: 13 },
];
export const MID_ID = 9;
export const RID_ID = 10;
export const TWCC_ID = 4;

/** Media seeds of one codec in corpus/rtp (its session also holds the Opus packets, PT 111). */
function seedsOf(prefix: string, payloadType: number): Uint8Array[] {
  return corpusSeeds('rtp', prefix).filter((s) => (s[1]! & 0x7f) === payloadType);
}

function video(
  name: string,
  mimeType: string,
  payloadType: number,
  rids: string[],
  extra: Uint8Array[] = [],
) {
  return {
    name,
    kind: 'video' as const,
    codec: { mimeType, payloadType, clockRate: 90_000, fmtp: {} },
    rids,
    headerExtensions: VIDEO_EXTENSIONS,
    ssrcs: rids.length > 0 ? rids.map((_, i) => 0x1000 + i) : [0x1000],
    seeds: [...seedsOf(name, payloadType), ...extra],
  };
}

export const SESSIONS: CaptureSession[] = [
  // The transport capture's plaintext RTP (PT 96, mid in extension 1) rides with VP8.
  video('vp8-simulcast', 'video/VP8', 96, ['q', 'h', 'f'], corpusSeeds('transport-rtp', 'rtp')),
  video('vp9-svc', 'video/VP9', 98, []),
  video('h264', 'video/H264', 102, []),
  video('av1-dd', 'video/AV1', 45, []),
  {
    name: 'opus',
    kind: 'audio',
    codec: { mimeType: 'audio/opus', payloadType: 111, clockRate: 48_000, channels: 2, fmtp: {} },
    rids: [],
    headerExtensions: [{ uri: EXTENSION_URI.audioLevel, id: 12 }],
    ssrcs: [0x2000],
    seeds: corpusSeeds('rtp').filter((s) => (s[1]! & 0x7f) === 111),
  },
];

/** One packet of a session, and how its header is set before it is fed. */
export interface PacketStep {
  kind: 'rtp';
  bytes: Uint8Array;
  /** Which of the session's SSRCs it is given (undefined: the bytes keep their own). */
  layer: number | undefined;
  /** Sequence number: the layer's next one, after a gap, or the bytes' own. */
  order: 'next' | 'gap' | 'own';
  gap: number;
}

/** Random, mutated and truncated seeds of the session, with a P bit and padding count set at random. */
export function packetStep(session: CaptureSession): fc.Arbitrary<PacketStep> {
  const bytes = fuzzBytes({ seeds: session.seeds, defaultRuns: 0, structured: [padded(session.seeds)] });
  return fc.record({
    kind: fc.constant('rtp' as const),
    bytes: fc.oneof(
      { weight: 1, arbitrary: bytes },
      { weight: 2, arbitrary: fc.constantFrom(...session.seeds) },
    ),
    layer: fc.option(fc.nat(session.ssrcs.length - 1), { freq: 8, nil: undefined }),
    order: fc.constantFrom('next' as const, 'next' as const, 'next' as const, 'gap' as const, 'own' as const),
    gap: fc.integer({ min: -3, max: 40 }),
  });
}

/** A seed whose P bit and last byte (the padding count) are set to any value: too long, 0, inside. */
function padded(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.constantFrom(...seeds), fc.nat(255), fc.boolean()).map(([s, count, p]) => {
    const out = Uint8Array.from(s);
    out[0] = p ? out[0]! | 0x20 : out[0]! & ~0x20;
    out[out.length - 1] = count;
    return out;
  });
}

/** Per-SSRC sequence counters of a fuzz run: writes the step's SSRC and sequence number. */
export class StreamShaper {
  readonly #next = new Map<number, number>();
  readonly session: CaptureSession;

  constructor(session: CaptureSession) {
    this.session = session;
  }

  shape(step: PacketStep): Buffer {
    const buf = Buffer.from(step.bytes);
    if (buf.length < 12) return buf;
    if (step.layer !== undefined) buf.writeUInt32BE(this.session.ssrcs[step.layer]!, 8);
    const ssrc = buf.readUInt32BE(8);
    if (step.order === 'own') return buf;
    const next = this.#next.get(ssrc) ?? buf.readUInt16BE(2);
    const seq = (next + (step.order === 'gap' ? step.gap : 0)) & 0xffff;
    buf.writeUInt16BE(seq, 2);
    this.#next.set(ssrc, (seq + 1) & 0xffff);
    return buf;
  }
}

/** Signed distance a − b of two 16-bit sequence numbers. */
export function seqDelta(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

const LAYOUT = newRtpLayout();

/**
 * What one DownTrack writes: every packet a valid RTP packet (header parses, payload ≥ 0 bytes,
 * padding consistent) with the DownTrack's SSRC and payload type (or its RTX ones), and media
 * packets that follow the previous one in their source stream (same source SSRC, newer source
 * sequence number) newer than any sent before (sequence numbers increase modulo 2^16 in a run).
 */
export class DownstreamChecker {
  packets = 0;
  #highestOut = -1;
  #lastSource: { ssrc: number; seq: number } | undefined;
  /** The source packet being forwarded (set by the caller before it reaches the DownTrack). */
  source: { ssrc: number; seq: number } | undefined;
  /** True while the DownTrack answers a NACK or sends padding: not media in order. */
  outOfBand = false;

  readonly down: {
    ssrc: number;
    payloadType: number;
    rtx?: { ssrc: number; payloadType: number } | undefined;
  };

  constructor(down: DownstreamChecker['down']) {
    this.down = down;
  }

  check(out: Buffer): void {
    this.packets++;
    assert.ok(
      readRtpLayout(out, LAYOUT),
      `invalid RTP written downstream: ${out.toString('hex').slice(0, 80)}`,
    );
    assert.ok(LAYOUT.payloadBytes >= 0);
    const ssrc = out.readUInt32BE(8);
    const pt = out[1]! & 0x7f;
    const rtx = this.down.rtx;
    const isRtx = rtx !== undefined && ssrc === rtx.ssrc;
    assert.ok(ssrc === this.down.ssrc || isRtx, `unknown SSRC ${ssrc}`);
    assert.equal(pt, isRtx ? rtx.payloadType : this.down.payloadType);
    if (isRtx) assert.ok(this.outOfBand, 'RTX outside a retransmission or probe');
    if (this.outOfBand) return;
    this.#checkOrder(out.readUInt16BE(2));
  }

  /** The newest media sequence number written, -1 before the first. */
  get highestOut(): number {
    return this.#highestOut;
  }

  #checkOrder(seq: number): void {
    const source = this.source;
    const last = this.#lastSource;
    const inOrder = source && last && source.ssrc === last.ssrc && seqDelta(source.seq, last.seq) > 0;
    if (inOrder && this.#highestOut >= 0)
      assert.ok(seqDelta(seq, this.#highestOut) > 0, `sequence number ${seq} after ${this.#highestOut}`);
    if (this.#highestOut < 0 || seqDelta(seq, this.#highestOut) > 0) this.#highestOut = seq;
    if (source && (!last || source.ssrc !== last.ssrc || seqDelta(source.seq, last.seq) > 0))
      this.#lastSource = { ...source };
  }
}

/** DownTrack variants attached to one UpTrack, each with its checker. */
export interface Downstream {
  down: DownTrack;
  checker: DownstreamChecker;
}

/**
 * Three subscribers: plain (no extensions, no RTX), one with every publisher extension mapped
 * (abs-send-time stamped) and RTX accepted (NACKs over RTX, probe padding), and one kept on the
 * lowest layer (temporal drops, VP8 picture id rewriting across drops).
 */
export function attachDownTracks(up: UpTrack): Downstream[] {
  const mapped = new Uint8Array(256);
  for (let id = 1; id <= 14; id++) mapped[id] = 15 - id;
  const configs = [
    { ssrc: 0x5000 },
    {
      ssrc: 0x6000,
      rtx: { ssrc: 0x6001, payloadType: 97 },
      extensionIds: mapped,
      absSendTimeId: 13,
      transportCcId: 11,
    },
    { ssrc: 0x7000, rtx: { ssrc: 0x7001, payloadType: 99 }, low: true },
  ];
  return configs.map((c) => {
    let checker: DownstreamChecker | undefined;
    const down = new DownTrack({
      upTrack: up,
      ssrc: c.ssrc,
      payloadType: up.codec.payloadType,
      rtx: c.rtx,
      extensionIds: c.extensionIds,
      absSendTimeId: c.absSendTimeId,
      transportCcId: c.transportCcId,
      send: (p) => checker!.check(p),
    });
    checker = new DownstreamChecker(down);
    if (c.rtx) down.rtxEnabled = true;
    if (c.low) down.setTarget({ spatial: 0, temporal: 0 });
    return { down, checker };
  });
}

/**
 * Sets the source of the next media packet on every checker (what `seq` order is judged by): the
 * packet's own sequence number, or `seq` (an RTX repair carries the one it repairs).
 */
export function expectSource(downstream: Downstream[], buf: Buffer, seq?: number): void {
  const source =
    buf.length >= 12 ? { ssrc: buf.readUInt32BE(8), seq: seq ?? buf.readUInt16BE(2) } : undefined;
  for (const d of downstream) d.checker.source = source;
}

/** Runs `fn` with every checker told that what is written is a retransmission or a probe. */
export function outOfBand(downstream: Downstream[], fn: () => void): void {
  for (const d of downstream) d.checker.outOfBand = true;
  try {
    fn();
  } finally {
    for (const d of downstream) d.checker.outOfBand = false;
  }
}
