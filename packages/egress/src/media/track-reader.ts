import {
  getRtpMarker,
  getRtpPayloadType,
  getRtpSeq,
  getRtpSsrc,
  getRtpTimestamp,
  newRtpLayout,
  readRtpLayout,
} from '../../../../src/rtp/rtp-packet.ts';
import type { RelayedTrack, TapFeedback } from '../../../../src/sfu/egress-backend.ts';
import { opusPacketSamples } from './depacketize-opus.ts';
import type { CodedFrame, Depacketizer } from './depacketizer.ts';
import type { CodecName, MediaFrame } from './frame.ts';
import { ReorderBuffer, type ReorderOptions } from './reorder-buffer.ts';
import type { PublisherClock, TrackClock } from './timeline.ts';

/** A chosen layer silent this long gives way to the best layer still sending. */
export const LAYER_SILENT_MS = 1000;
/** A keyframe asked for and not received is asked for again after this. */
export const KEYFRAME_RETRY_MS = 1000;
const OPUS_RATE = 48_000;

export interface TrackReaderOptions {
  track: RelayedTrack;
  codec: CodecName;
  depacketizer: Depacketizer;
  /** The clocks of the tap's publisher on the egress timeline. */
  clock: PublisherClock;
  reorder: ReorderOptions;
  /** The simulcast layer wanted ('highest': the track's top layer). */
  layer: number | 'highest';
  send: (feedback: TapFeedback) => void;
  onFrame: (frame: MediaFrame) => void;
}

/**
 * One track of a tap: follows the chosen simulcast layer's SSRC, reorders its packets, turns them
 * into frames and puts them on the egress timeline. Video waits for a keyframe at the start and
 * after every frame lost for good (asking the publisher for one), so a decoder never gets a
 * broken reference chain.
 */
export class TrackReader {
  readonly track: RelayedTrack;
  readonly #o: TrackReaderOptions;
  readonly #video: boolean;
  readonly #reorder: ReorderBuffer;
  readonly #layout = newRtpLayout();
  readonly #srBySsrc = new Map<number, { ntpMs: number; rtpTimestamp: number; receivedMs: number }>();
  #clock: TrackClock;
  #layer: number;
  /** -1: every layer is forwarded and the best one recently heard is followed. */
  #want: number;
  #ssrc = -1;
  readonly #heard = new Map<number, number>();
  #startedMs = -1;
  #awaitKeyframe: boolean;
  #keyframeAskedMs = Number.NEGATIVE_INFINITY;
  #arrivalMs = 0;
  #width = 0;
  #height = 0;
  #lastPtsUs = -1;
  /** Frames dropped while waiting for a keyframe, for stats and tests. */
  framesDropped = 0;

  constructor(options: TrackReaderOptions) {
    this.#o = options;
    this.track = options.track;
    this.#video = options.track.kind === 'video';
    this.#awaitKeyframe = this.#video;
    this.#clock = options.clock.track(options.track.codec.clockRate);
    const top = Math.max(0, options.track.rids.length - 1);
    this.#want = options.layer === 'highest' ? top : Math.min(Math.max(0, options.layer), top);
    this.#layer = this.#want;
    this.#reorder = new ReorderBuffer(
      options.reorder,
      (packet) => this.#inOrder(packet),
      () => this.#lost(),
    );
  }

  /** Says which layer to forward and asks for the first keyframe. */
  start(nowMs: number): void {
    this.#startedMs = nowMs;
    if (this.track.rids.length > 1)
      this.#o.send({ t: 'layer', relayId: this.track.relayId, layer: this.#want });
    if (this.#video) this.#askKeyframe(nowMs);
  }

  /** True once the track's time comes from a sender report. */
  get synced(): boolean {
    return this.#clock.synced;
  }

  get reorder(): ReorderBuffer {
    return this.#reorder;
  }

  packet(layer: number, packet: Buffer, nowMs: number): void {
    if (!readRtpLayout(packet, this.#layout)) return;
    this.#heard.set(layer, nowMs);
    if (this.#want === -1 && layer > this.#layer) this.#follow(layer, nowMs);
    if (layer !== this.#layer) return;
    const ssrc = getRtpSsrc(packet);
    if (ssrc !== this.#ssrc) this.#newSsrc(ssrc, nowMs);
    this.#arrivalMs = nowMs;
    this.#reorder.push(getRtpSeq(packet), packet, nowMs);
  }

  senderReport(ssrc: number, ntpMs: number, rtpTimestamp: number, receivedMs: number): void {
    this.#srBySsrc.set(ssrc, { ntpMs, rtpTimestamp, receivedMs });
    if (ssrc === this.#ssrc) this.#clock.senderReport(ntpMs, rtpTimestamp, receivedMs);
  }

  /** Timer work: gaps waited long enough, a silent layer, a keyframe still missing. */
  tick(nowMs: number): void {
    this.#reorder.poll(nowMs);
    if (this.#video && this.#awaitKeyframe && nowMs - this.#keyframeAskedMs >= KEYFRAME_RETRY_MS)
      this.#askKeyframe(nowMs);
    if (this.track.rids.length > 1) this.#checkLayer(nowMs);
  }

  #checkLayer(nowMs: number): void {
    const last = this.#heard.get(this.#layer) ?? this.#startedMs;
    if (nowMs - last < LAYER_SILENT_MS) return;
    let best = -1;
    for (const [layer, at] of this.#heard) if (nowMs - at < LAYER_SILENT_MS && layer > best) best = layer;
    if (this.#want !== -1) {
      // Why: the wanted layer went quiet (bandwidth); hear every layer to pick the best that sends.
      this.#want = -1;
      this.#o.send({ t: 'layer', relayId: this.track.relayId, layer: -1 });
    }
    if (best !== -1 && best !== this.#layer) this.#follow(best, nowMs);
  }

  #follow(layer: number, nowMs: number): void {
    this.#layer = layer;
    this.#newSsrc(-1, nowMs);
  }

  #newSsrc(ssrc: number, nowMs: number): void {
    this.#ssrc = ssrc;
    this.#reorder.reset();
    // Why: the first packet heard of a stream may be in the middle of a frame.
    this.#o.depacketizer.lost();
    this.#clock = this.#o.clock.track(this.track.codec.clockRate);
    const sr = this.#srBySsrc.get(ssrc);
    // Why its arrival time: a report kept since then (a layer followed later) is as old as it is.
    if (sr) this.#clock.senderReport(sr.ntpMs, sr.rtpTimestamp, sr.receivedMs);
    if (this.#video && ssrc !== -1) {
      this.#awaitKeyframe = true;
      this.#askKeyframe(nowMs);
    }
  }

  #askKeyframe(nowMs: number): void {
    this.#keyframeAskedMs = nowMs;
    this.#o.send({ t: 'keyframe', relayId: this.track.relayId, ssrc: Math.max(0, this.#ssrc) });
  }

  #lost(): void {
    this.#o.depacketizer.lost();
    if (this.#video && !this.#awaitKeyframe) {
      this.#awaitKeyframe = true;
      this.#askKeyframe(this.#arrivalMs);
    }
  }

  #inOrder(packet: Buffer): void {
    if (!readRtpLayout(packet, this.#layout)) return;
    const l = this.#layout;
    // Why: padding-only packets (bandwidth probes) take sequence numbers but carry no media.
    if (l.payloadBytes === 0 || getRtpPayloadType(packet) !== this.track.codec.payloadType) return;
    const dep = this.#o.depacketizer;
    const errors = dep.errors;
    const frames = dep.push({
      payload: packet.subarray(l.headerBytes, l.headerBytes + l.payloadBytes),
      timestamp: getRtpTimestamp(packet),
      marker: getRtpMarker(packet),
    });
    if (dep.errors !== errors) this.#lost();
    for (const frame of frames) this.#emit(frame);
  }

  #emit(coded: CodedFrame): void {
    if (this.#video && this.#awaitKeyframe && !coded.keyframe) {
      this.framesDropped++;
      return;
    }
    if (coded.keyframe) this.#awaitKeyframe = false;
    // Why: a new SSRC (another layer) starts a new clock; the track's frames still never go back.
    const ptsUs = Math.max(this.#clock.ptsUs(coded.rtpTimestamp, this.#arrivalMs), this.#lastPtsUs + 1);
    this.#lastPtsUs = ptsUs;
    this.#o.onFrame(this.#video ? this.#videoFrame(coded, ptsUs) : this.#audioFrame(coded, ptsUs));
  }

  #videoFrame(coded: CodedFrame, ptsUs: number): MediaFrame {
    if (coded.width > 0) {
      this.#width = coded.width;
      this.#height = coded.height;
    }
    const codec = this.#o.codec as 'h264' | 'vp8' | 'vp9' | 'av1';
    const { data, keyframe } = coded;
    return { kind: 'video', codec, data, keyframe, ptsUs, width: this.#width, height: this.#height };
  }

  #audioFrame(coded: CodedFrame, ptsUs: number): MediaFrame {
    return {
      kind: 'audio',
      codec: 'opus',
      data: coded.data,
      ptsUs,
      samples: opusPacketSamples(coded.data),
      sampleRate: OPUS_RATE,
      channels: this.track.codec.channels ?? 2,
    };
  }
}
