import { mediaCounters, mediaCounting } from '../../lib/media-counters.ts';
import { newVp8Descriptor, parseVp8 } from '../../rtp/codecs/vp8.ts';
import { SimulcastSelector } from '../qos/simulcast-selector.ts';
import type { VideoLayer } from '../qos/video-layer.ts';
import { Vp8Munger } from '../qos/vp8-munger.ts';
import { RtpMunger } from '../rtp-munger.ts';
import type { DownTrackOptions, DownTrackStart } from './down-track-options.ts';
import { KeyframeRequests } from './keyframe-requests.ts';
import { NackResponder, payloadEnd } from './nack-responder.ts';
import { sendProbePadding } from './probe-padding.ts';
import { packetOutput, type RtpOutput } from './rtp-output.ts';
import { NO_EXTENSIONS, RtpRewriter } from './rtp-rewriter.ts';
import { MIN_RESEND_INTERVAL_MS, SentHistory } from './sent-history.ts';
import type { MediaPacket, TrackSink, UpTrack } from './up-track.ts';

/** The history of every audio DownTrack: never recorded into, so every lookup misses. */
const NO_HISTORY = new SentHistory();

/**
 * One UpTrack forwarded to one subscriber: a SimulcastSelector picks the source layer (simulcast
 * SSRC or VP9 spatial id, switching only at a keyframe of the target layer; temporal layers above
 * the target dropped), rewrites SSRC, payload type, sequence numbers and timestamps (RtpMunger) and
 * VP8 picture id / TL0PICIDX / KEYIDX (Vp8Munger) so the subscriber sees one continuous stream,
 * maps the forwarded header extensions to the subscriber's ids (dropping the others and CSRCs),
 * and answers the subscriber's NACKs from the UpTrack's cache, over RTX when negotiated
 * (nack-responder.ts). Its keyframes are asked for in keyframe-requests.ts, its probe padding
 * built in probe-padding.ts.
 *
 * Layer words (docs/simulcast.md): `preferred` is set by the subscriber (Subscription), `target`
 * by its LayerAllocator, `current` and `maxSeen` are the selector's.
 *
 * Lifecycle: created by a subscription → bound to the UpTrack (`upTrack.sinks`) → close().
 */
export class DownTrack implements TrackSink {
  readonly ssrc: number;
  readonly payloadType: number;
  #upTrack: UpTrack;
  readonly rtx: { ssrc: number; payloadType: number } | undefined;
  /** Set from the subscriber's answer: whether it accepted RTX for this track. */
  rtxEnabled = false;
  readonly #rewriter: RtpRewriter;
  readonly #output: RtpOutput;
  /** Vp8Munger.munge's options, one object reused. */
  readonly #mungeOptions = { switched: false };
  readonly #transportCcId: number;
  readonly #munger = new RtpMunger();
  /** Video only: which layer to forward. */
  #selector: SimulcastSelector | undefined;
  /** VP8 only: picture id / TL0PICIDX / KEYIDX continuity. */
  readonly #vp8: Vp8Munger | undefined;
  readonly #vp8d = newVp8Descriptor();
  readonly #keyframes = new KeyframeRequests();
  #currentSsrc: number | undefined;
  /** MediaPacket.sourceId of the current source, -1 before the first packet. */
  #currentSourceId = -1;
  /**
   * What was sent under which sequence number, for NACKs: video only (no audio codec negotiates
   * NACK, see capabilities.ts), so an audio DownTrack records nothing per packet and shares one
   * empty history (31 kB less each: an audio room's listener has one per speaker).
   */
  readonly #history: SentHistory;
  readonly #nacks: NackResponder;
  packetsSent = 0;
  octetsSent = 0;
  /** NACKed packets given up on (resent too often, or no longer cached): each asks for a keyframe. */
  resendsGivenUp = 0;
  /** Packets of the current source not forwarded (temporal layers above the target, SVC layers above current). */
  dropped = 0;
  /** Spatial switches done (current changed at a keyframe). */
  switches = 0;
  /** Called when `current` changes (after the packet that made it change is sent). */
  onLayerSwitched: ((current: Readonly<VideoLayer>) => void) | null = null;
  #onFirstKeyframe: (() => void) | undefined;
  #started: boolean;
  #closed = false;

  constructor(options: DownTrackOptions) {
    this.#upTrack = options.upTrack;
    this.ssrc = options.ssrc;
    this.payloadType = options.payloadType;
    this.rtx = options.rtx;
    this.#rewriter = new RtpRewriter({
      ssrc: options.ssrc,
      payloadType: options.payloadType,
      rtx: options.rtx,
      extensionIds: options.extensionIds ?? NO_EXTENSIONS,
      absSendTimeId: options.absSendTimeId ?? 0,
    });
    this.#transportCcId = options.transportCcId ?? 0;
    if (!options.output && !options.send) throw new TypeError('a DownTrack needs an output or a send');
    this.#output = options.output ?? packetOutput(options.send!);
    this.#onFirstKeyframe = options.onFirstKeyframe;
    const up = options.upTrack;
    this.#started = up.kind === 'audio' || options.waitForStart !== true;
    this.#history = up.kind === 'video' ? new SentHistory() : NO_HISTORY;
    if (up.kind === 'video') {
      this.#selector = new SimulcastSelector({ clock: up.clock, mode: up.svc ? 'svc' : 'simulcast' });
      if (up.codec.mimeType.toLowerCase() === 'video/vp8') this.#vp8 = new Vp8Munger();
    }
    this.#nacks = new NackResponder({
      history: this.#history,
      rewriter: this.#rewriter,
      output: this.#output,
      vp8d: this.#vp8 ? this.#vp8d : undefined,
    });
    up.sinks.add(this);
  }

  /** Packets resent (NACKs answered). */
  get retransmitted(): number {
    return this.#nacks.retransmitted;
  }

  /** NACKed packets not resent: already resent within the last RTT, or too often. */
  get resendsSkipped(): number {
    return this.#nacks.resendsSkipped;
  }

  /** The published track forwarded (another one after switchSource). */
  get upTrack(): UpTrack {
    return this.#upTrack;
  }

  /** The extension ids the subscriber's answer kept for this track: only those are sent. */
  acceptExtensions(accepted: ReadonlySet<number>): void {
    this.#rewriter.acceptExtensions(accepted);
  }

  /**
   * Forwards another published track of the same kind and codec under the same SSRC (a viewer
   * following the active speaker): the RtpMunger (and the VP8 munger) continue the stream as at a
   * simulcast switch, video restarts at the new track's next keyframe, which is asked for now.
   * `extensionIds` maps the new publisher's extension ids. The preferred layer is kept; the
   * allocator sets the target again. Throws TypeError for a track of another kind or codec.
   */
  switchSource(up: UpTrack, mapping: { extensionIds: Uint8Array; absSendTimeId: number }): void {
    const old = this.#upTrack;
    if (up.kind !== old.kind || up.codec.mimeType.toLowerCase() !== old.codec.mimeType.toLowerCase())
      throw new TypeError(`cannot switch ${old.codec.mimeType} to ${up.codec.mimeType}`);
    if (up === old || this.#closed) return;
    old.sinks.delete(this);
    this.#upTrack = up;
    this.#rewriter.setExtensions(mapping.extensionIds, mapping.absSendTimeId);
    if (this.#selector) {
      const selector = new SimulcastSelector({ clock: up.clock, mode: up.svc ? 'svc' : 'simulcast' });
      selector.setPreferred(this.#selector.preferred);
      this.#selector = selector;
    }
    up.sinks.add(this);
    up.requestKeyframe();
  }

  /** False while a video DownTrack waits for start() (its subscriber is not connected). */
  get started(): boolean {
    return this.#started;
  }

  /**
   * The subscriber's transport is connected (SRTP keys exist): forwarding starts. Video starts at
   * the newest keyframe the UpTrack still holds whole in its cache, of the target layer or else a
   * lower one (any layer beats a freeze; the selector then asks for the target's), replayed
   * through the normal path (selector, mungers, extensions, the subscription's transport-cc
   * sequence): no round trip to the publisher. Without one, a keyframe of the target is asked for
   * (throttled as any request). A paused track (target none) waits for its resume as before.
   */
  start(): DownTrackStart {
    if (this.#started || this.#closed) return 'already';
    this.#started = true;
    const selector = this.#selector;
    if (!selector) return 'audio';
    const target = selector.target.spatial;
    if (target < 0) return 'paused';
    return this.#keyframes.start(this.upTrack, target, this);
  }

  /** The UpTrack forwards again after withheld packets: no sequence gap for the subscriber to NACK. */
  sourceResumed(): void {
    this.#munger.resume();
  }

  get currentSsrc(): number | undefined {
    return this.#currentSsrc;
  }

  get kind(): 'audio' | 'video' {
    return this.upTrack.kind;
  }

  /** The subscriber's wish (a ceiling); HIGHEST_LAYER until told. Undefined for audio. */
  get preferred(): Readonly<VideoLayer> | undefined {
    return this.#selector?.preferred;
  }

  get target(): Readonly<VideoLayer> | undefined {
    return this.#selector?.target;
  }

  get current(): Readonly<VideoLayer> | undefined {
    return this.#selector?.current;
  }

  get maxSeen(): VideoLayer | undefined {
    return this.#selector?.maxSeen;
  }

  /** The subscriber's wish (a ceiling); NO_LAYER pauses. The Subscription reallocates after it. */
  setPreferred(layer: VideoLayer): void {
    if (!this.#selector) return;
    this.#selector.setPreferred(layer);
  }

  /**
   * The allocator's choice (≤ preferred); the switch happens at a keyframe of that layer. With
   * `urgent` (the link no longer carries the current layer) a lower target also stops the current
   * layer at once: what is sent of it now only lengthens the bottleneck's queue, and the target's
   * keyframe must come through that queue, so it is asked for once the queue has drained (`drainMs`,
   * see SimulcastSelector.setTarget).
   */
  setTarget(layer: VideoLayer, urgent = false, drainMs = 0): void {
    const selector = this.#selector;
    if (!selector) return;
    const before = selector.target;
    const current = selector.current;
    const same = before.spatial === layer.spatial && before.temporal === layer.temporal;
    selector.setTarget(layer, urgent, drainMs);
    if (same || selector.draining) return;
    // A new layer: ask for its keyframe now rather than at the next packet.
    if (layer.spatial >= 0 && layer.spatial !== current.spatial)
      this.#keyframes.ask(this.upTrack, layer.spatial);
  }

  writeRtp(packet: MediaPacket): void {
    if (this.#closed) return;
    const selector = this.#selector;
    if (!this.#started) {
      // Not forwarded yet, but the layers the publisher sends are known at start (SVC chooses
      // the spatial layer at the keyframe among the live ones).
      selector?.see(packet);
      return;
    }
    if (!selector) {
      this.#setSource(packet);
      this.#forward(packet, false, packet.marker);
      return;
    }
    const before = selector.current.spatial;
    const beforeTemporal = selector.current.temporal;
    const r = selector.select(packet);
    if (r.needKeyframe !== undefined) this.#keyframes.ask(this.#upTrack, r.needKeyframe);
    if (!r.forward) {
      if (packet.sourceId === this.#currentSourceId) {
        this.dropped++;
        this.#munger.drop(packet.sourceId, packet.sequenceNumber);
        this.#vp8?.drop(packet.buffer, packet.headerBytes, payloadEnd(packet.buffer));
      }
    } else {
      this.#setSource(packet);
      this.#forward(packet, r.switched, r.marker);
    }
    const current = selector.current;
    if (current.spatial !== before || current.temporal !== beforeTemporal) {
      if (current.spatial !== before && current.spatial >= 0) {
        this.switches++;
        if (mediaCounting.on) mediaCounters.layerSwitches++;
      }
      this.onLayerSwitched?.(current);
    }
  }

  /** Dynacast stopped some layers: do not wait a second for the selector to notice. */
  layersActive(active: readonly boolean[]): void {
    active.forEach((on, spatial) => {
      if (!on) this.#selector?.layerStopped(spatial);
    });
  }

  /** The packet's source is forwarded: its SSRC is stored on a change only (see MediaPacket.sourceId). */
  #setSource(packet: MediaPacket): void {
    if (packet.sourceId === this.#currentSourceId) return;
    this.#currentSourceId = packet.sourceId;
    this.#currentSsrc = packet.ssrc;
  }

  #forward(packet: MediaPacket, switched: boolean, marker: boolean): void {
    const mapped = this.#munger.forward(packet.sourceId, packet.sequenceNumber, packet.timestamp);
    if (!mapped) return;
    const out = this.#output.buffer(packet.buffer.length);
    const length = this.#rewriter.rewrite(
      packet.buffer,
      packet.headerBytes,
      mapped.sequenceNumber,
      mapped.timestamp,
      -1,
      marker,
      out,
    );
    const history = this.#history;
    const slot =
      history === NO_HISTORY
        ? -1
        : history.record(mapped.sequenceNumber, packet.sequenceNumber, packet.ssrc, mapped.timestamp, marker);
    if (this.#vp8) {
      const payloadAt = length - (packet.buffer.length - packet.headerBytes);
      const end = payloadEnd(out, length);
      this.#mungeOptions.switched = switched;
      if (
        payloadAt > 0 &&
        this.#vp8.munge(out, payloadAt, end, this.#mungeOptions) &&
        parseVp8(out, this.#vp8d, payloadAt, end)
      )
        this.#history.recordVp8(slot, this.#vp8d);
    }
    this.packetsSent++;
    this.octetsSent += length - 12;
    if (mediaCounting.on) mediaCounters.forwardedPackets++;
    this.#output.send(out, length);
    if (packet.keyframe && this.#onFirstKeyframe) {
      const first = this.#onFirstKeyframe;
      this.#onFirstKeyframe = undefined;
      first();
    }
  }

  /**
   * Probe padding (a bandwidth probe, see Subscription): `count` padding-only packets of up to 255
   * bytes on the RTX stream, carrying only the transport-cc extension for the sender to stamp.
   * Sends nothing (returns 0) without RTX or transport-cc; returns the bytes sent.
   */
  sendPadding(bytes: number): number {
    if (this.#closed || !this.rtxEnabled || !this.rtx || this.#transportCcId === 0 || this.packetsSent === 0)
      return 0;
    const timestamp = this.#munger.lastTimestamp;
    return sendProbePadding(this.#output, this.#rewriter, this.rtx, timestamp, this.#transportCcId, bytes);
  }

  /**
   * The subscriber lost these (our) sequence numbers: resend what is still cached, each packet at
   * most MAX_RESENDS times and not twice within `minIntervalMs` (what a resend takes to arrive:
   * the round trip plus the bottleneck's queue). A video packet given up on (resent too often, or
   * no longer cached) will never arrive, so its layer's keyframe is asked for instead of waiting
   * for the subscriber to find out.
   */
  retransmit(sequenceNumbers: number[], minIntervalMs = MIN_RESEND_INTERVAL_MS): void {
    const interval = Math.max(MIN_RESEND_INTERVAL_MS, minIntervalMs);
    const gaveUp = this.#nacks.answer(this.upTrack, sequenceNumbers, interval, this.rtxEnabled);
    if (gaveUp) {
      this.resendsGivenUp++;
      this.#keyframes.givenUp(this.upTrack, this.#selector?.current.spatial ?? -1);
    }
  }

  /** The publisher's sender report for the current layer, in our timestamp space (A/V sync). */
  senderReport(): { ntpMs: number; rtpTimestamp: number } | undefined {
    if (this.#currentSsrc === undefined) return undefined;
    const sr = this.upTrack.senderReport(this.#currentSsrc);
    if (!sr) return undefined;
    return { ntpMs: sr.ntpMs, rtpTimestamp: (sr.rtpTimestamp + this.#munger.timestampOffset) >>> 0 };
  }

  close(): void {
    this.#closed = true;
    this.upTrack.sinks.delete(this);
  }
}
