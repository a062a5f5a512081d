import type { Clock } from '../../lib/clock.ts';
import type { ParticipantId } from '../../lib/ids.ts';
import { mediaCounters, mediaCounting } from '../../lib/media-counters.ts';
import type { MediaState } from '../../protocol/sfu-api.ts';
import { buildPli, buildRemb, forEachRtcp, RtcpType, writeNack } from '../../rtp/rtcp.ts';
import { type ExtensionRange, findHeaderExtension, headerExtension } from '../../rtp/rtp-extensions.ts';
import { rtpHeaderBytes, rtpPaddingBytes } from '../../rtp/rtp-packet.ts';
import { keyOfSsrc, ssrcKey, ssrcOfKey } from '../../rtp/ssrc-key.ts';
import { EXTENSION_URI } from '../../transport/negotiation/index.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import { NackGenerator } from '../nack-generator.ts';
import { TwccFeedback } from '../twcc-feedback.ts';
import type { AudioLevelMeter } from './active-speaker.ts';
import { backupTarget } from './backup-codecs.ts';
import { PublisherReceiveStats } from './connection-quality.ts';
import { UpTrack } from './up-track.ts';

/** The ceiling we tell publishers (REMB); with transport-cc their own estimator works below it. */
const REMB_BITRATE_BPS = 5_000_000;
const RTCP_INTERVAL_MS = 1000;
/** libwebrtc sends its transport feedback every 50–250 ms depending on bitrate; 100 ms is its middle. */
const TWCC_FEEDBACK_INTERVAL_MS = 100;
const RANGE: ExtensionRange = { offset: 0, length: 0 };
/** Lost packets are looked for this often; asked for again no sooner than NACK_RETRY_MS. */
const NACK_INTERVAL_MS = 20;
const NACK_RETRY_MS = 50;
/** Sequence numbers per NACK packet (its FCI entries cover up to 17 each). */
const NACK_BATCH = 100;
const REPAIRED_RID_URI = 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id';

export interface PublishedTrack {
  mid: string;
  kind: 'audio' | 'video';
  trackId: string;
  streamId: string;
  codec: {
    mimeType: string;
    payloadType: number;
    /** The RTX payload type the answer kept for this codec (RFC 4588), if any. */
    rtxPayloadType?: number | undefined;
    clockRate: number;
    channels?: number | undefined;
    fmtp: Record<string, string | number>;
  };
  ssrcs: number[];
  rids: string[];
  headerExtensions: Array<{ uri: string; id: number }>;
}

/**
 * A participant's upstream connection: its transport and the UpTracks of what it sends. SSRCs
 * named in the SDP are known at once; simulcast layers (rid) are learnt from the mid/rid header
 * extensions of their first packets.
 *
 * Lifecycle: created on join → tracks added by (re)negotiation → ready once `totalTracks` tracks
 * carry media → close().
 */
export class Publisher {
  readonly participantId: ParticipantId;
  readonly transport: WebRtcTransport;
  readonly tracks = new Map<string, UpTrack>();
  /**
   * By ssrcKey, as are the NACK generator's streams, the receive statistics and what the UpTracks
   * are given: an SSRC above 2^31 would be a heap number allocated per packet.
   */
  readonly #bySsrc = new Map<number, UpTrack>();
  readonly #clock: Clock;
  readonly #senderSsrc = (Math.random() * 0xffffffff) >>> 0;
  #midExtId = 0;
  #ridExtId = 0;
  #twccExtId = 0;
  #audioLevelExtId = 0;
  #repairedRidExtId = 0;
  /** Video tracks' RTX payload types by mid, and RTX SSRCs learnt → the track and media SSRC they repair. */
  readonly #rtxPayloadTypes = new Map<string, number>();
  readonly #rtx = new Map<number, { up: UpTrack; mediaSsrc: number }>();
  /** Packets lost on the way from the publisher, asked for again (RTCP NACK). */
  readonly nacks = new NackGenerator();
  readonly #nackOut = Buffer.alloc(1200);
  readonly #stopNackTimer: () => void;
  /** Retransmissions (RTX) received and put back into their streams. */
  repaired = 0;
  /** RTX packets carrying a packet that was not missing (a sender's probe padding): dropped. */
  duplicates = 0;
  /** RTP packets dropped for a header that does not parse or a padding count that does not fit. */
  malformed = 0;
  /** Audio levels (RFC 6464) of the audio packets, for the room's active-speaker detection. */
  audioLevelMeter: AudioLevelMeter | null = null;
  /** Loss and jitter of the incoming media streams, for connection quality. */
  readonly receiveStats = new PublisherReceiveStats();
  readonly #twcc: TwccFeedback;
  /** [0]: the arrival time of the packet being handled (read into memory: returned, a double is a heap number). */
  readonly #arrival = new Float64Array(1);
  readonly #twccOut = Buffer.alloc(1500);
  readonly #stopTwccTimer: () => void;
  mediaState: MediaState;
  totalTracks: number;
  /** False: its messages on the room data channels are dropped, not relayed (a join token's grant). */
  readonly canPublishData: boolean;
  /** Left out of the room's active speakers (a join token's `hidden`). */
  readonly hidden: boolean;
  #ready = false;
  readonly #onReady: () => void;
  readonly #stopTimer: () => void;
  onTrackAdded: ((track: UpTrack) => void) | null = null;
  /**
   * Dynacast's decision for a published video track: the highest Waterbus quality any subscriber
   * wants (0 pause, 1 low `q`, 2 medium `h`, 3 high `f`) and how many subscribers want some layer.
   * Called on change; the data channel sends it to the publisher as `track_quality`. For a backup
   * (backup-codecs.ts) `trackId` is its primary's and `backupCodec` names the backup's codec.
   */
  onLayersWanted:
    | ((trackId: string, quality: 0 | 1 | 2 | 3, subscribedCount: number, backupCodec?: string) => void)
    | null = null;

  constructor(options: {
    participantId: ParticipantId;
    transport: WebRtcTransport;
    clock: Clock;
    mediaState: MediaState;
    totalTracks: number;
    onReady: () => void;
    /** A join token's grants (default: may send room data, announced). */
    canPublishData?: boolean | undefined;
    hidden?: boolean | undefined;
  }) {
    this.participantId = options.participantId;
    this.canPublishData = options.canPublishData ?? true;
    this.hidden = options.hidden ?? false;
    this.transport = options.transport;
    this.#clock = options.clock;
    this.mediaState = options.mediaState;
    this.totalTracks = options.totalTracks;
    this.#onReady = options.onReady;
    this.transport.onRtp = (packet) => this.#onRtp(packet);
    this.transport.onRtcp = (packet) => this.#onRtcp(packet);
    this.#stopTimer = options.clock.setInterval(() => this.#sendFeedback(), RTCP_INTERVAL_MS);
    this.#twcc = new TwccFeedback({ senderSsrc: this.#senderSsrc });
    this.#stopTwccTimer = options.clock.setInterval(() => this.#sendTwcc(), TWCC_FEEDBACK_INTERVAL_MS);
    this.#stopNackTimer = options.clock.setInterval(() => this.#sendNacks(), NACK_INTERVAL_MS);
  }

  /**
   * Adds the tracks of a (re)negotiated offer; known mids are kept as they are. `backups`: mid →
   * mid of the video section it is a backup codec of (JoinRequest.backupSections).
   */
  addTracks(tracks: PublishedTrack[], backups: ReadonlyMap<string, string> = new Map()): UpTrack[] {
    const added: UpTrack[] = [];
    for (const t of tracks) {
      // BUNDLE: one id per extension across the sections (RFC 8843 §9.2).
      this.#midExtId ||= t.headerExtensions.find((e) => e.uri === EXTENSION_URI.mid)?.id ?? 0;
      this.#ridExtId ||= t.headerExtensions.find((e) => e.uri === EXTENSION_URI.rid)?.id ?? 0;
      this.#twccExtId ||= t.headerExtensions.find((e) => e.uri === EXTENSION_URI.transportCc)?.id ?? 0;
      if (t.kind === 'audio')
        this.#audioLevelExtId ||= t.headerExtensions.find((e) => e.uri === EXTENSION_URI.audioLevel)?.id ?? 0;
      this.#repairedRidExtId ||= t.headerExtensions.find((e) => e.uri === REPAIRED_RID_URI)?.id ?? 0;
      if (t.kind === 'video' && t.codec.rtxPayloadType !== undefined)
        this.#rtxPayloadTypes.set(t.mid, t.codec.rtxPayloadType);
      if (this.tracks.has(t.mid)) continue;
      const primary = backupTarget(this.tracks, t, backups.get(t.mid));
      const backupCodec = primary ? codecName(t.codec.mimeType) : undefined;
      const up = new UpTrack({
        trackId: t.trackId,
        backupOf: primary?.trackId,
        streamId: t.streamId,
        mid: t.mid,
        kind: t.kind,
        codec: t.codec,
        rids: t.rids,
        headerExtensions: t.headerExtensions,
        clock: this.#clock,
        sendPli: (ssrc) => {
          if (mediaCounting.on) mediaCounters.plisSent++;
          this.transport.sendRtcp(buildPli(this.#senderSsrc, ssrc));
        },
        onLayersWanted: (quality, subscribedCount) =>
          this.onLayersWanted?.(primary?.trackId ?? t.trackId, quality, subscribedCount, backupCodec),
      });
      // Without rids, the first SSRC of the SDP is the media (the others are RTX or FEC).
      if (t.rids.length === 0 && t.ssrcs[0] !== undefined) this.#bind(up, t.ssrcs[0], undefined);
      this.tracks.set(t.mid, up);
      added.push(up);
      this.onTrackAdded?.(up);
    }
    return added;
  }

  /** Mime type of the video track, for `room.answer_subscriber.videoCodec`. */
  get videoCodec(): string {
    for (const t of this.tracks.values())
      if (t.kind === 'video' && t.backupOf === undefined) return t.codec.mimeType;
    return '';
  }

  close(): void {
    this.#stopTimer();
    this.#stopTwccTimer();
    this.#stopNackTimer();
    for (const t of this.tracks.values()) t.close();
    this.tracks.clear();
    this.#bySsrc.clear();
    this.transport.close();
  }

  #bind(up: UpTrack, ssrc: number, rid: string | undefined): void {
    up.addLayer(ssrc, rid);
    this.#bySsrc.set(keyOfSsrc(ssrc), up);
  }

  #onRtp(packet: Buffer): void {
    const headerBytes = rtpHeaderBytes(packet);
    // Dropped before any bookkeeping: the NACK generator would take its sequence number as received.
    if (headerBytes < 0 || rtpPaddingBytes(packet, headerBytes) < 0) {
      this.malformed++;
      return;
    }
    const key = ssrcKey(packet, 8);
    // The kernel's receive time where there is one: the sender's estimator and the jitter we
    // report must not see how long the packet waited for this thread (receive-clock.ts).
    this.transport.readArrivalUs(this.#arrival);
    const arrivalUs = this.#arrival[0]!;
    // Every packet counts for the sender's estimator, RTX and padding included. The time is written
    // here, not passed (as an argument it would be a heap number per packet).
    if (this.#twccExtId && findHeaderExtension(packet, this.#twccExtId, RANGE) && RANGE.length >= 2) {
      const slot = this.#twcc.slot(packet.readUInt16BE(RANGE.offset), key);
      if (slot >= 0) this.#twcc.arrivalsUs[slot] = arrivalUs;
    }
    let up = this.#bySsrc.get(key);
    if (!up) {
      const ssrc = packet.readUInt32BE(8);
      const rtx = this.#rtx.get(key) ?? this.#learnRtx(packet, ssrc);
      if (rtx) {
        this.#onRtx(packet, headerBytes, rtx.up, rtx.mediaSsrc);
        return;
      }
      up = this.#learn(packet, ssrc);
      if (!up) return;
    }
    if (up.kind === 'video') {
      const now = this.#clock.nowMs();
      if (this.nacks.onPacket(key, packet.readUInt16BE(2), now)) up.lastUpstreamLossMs = now;
    }
    up.onRtp(packet, headerBytes, key);
    // Whole milliseconds (as libwebrtc's receive statistics count) and the RTP timestamp signed:
    // small integers, where a double or a timestamp above 2^31 would be heap numbers.
    const arrivalMs = Math.floor(arrivalUs / 1000);
    this.receiveStats.onPacket(
      key,
      packet.readUInt16BE(2),
      packet.readInt32BE(4),
      up.codec.clockRate,
      arrivalMs,
    );
    if (up.kind === 'audio' && this.audioLevelMeter && this.#audioLevelExtId)
      if (findHeaderExtension(packet, this.#audioLevelExtId, RANGE) && RANGE.length >= 1)
        this.audioLevelMeter.observe(packet[RANGE.offset]! & 0x7f);
    if (!this.#ready) this.#checkReady();
  }

  /** First packet of an SSRC the SDP did not name: find its track by mid and its layer by rid. */
  #learn(packet: Buffer, ssrc: number): UpTrack | undefined {
    const mid = this.#midExtId ? headerExtension(packet, this.#midExtId)?.toString('latin1') : undefined;
    const rid = this.#ridExtId ? headerExtension(packet, this.#ridExtId)?.toString('latin1') : undefined;
    // Packets carrying repaired-rid (RTX) have no rid here and are not forwarded as media.
    if (mid === undefined || rid === undefined) return undefined;
    const up = this.tracks.get(mid);
    if (!up) return undefined;
    const index = up.rids.indexOf(rid);
    // One SSRC per rid of the track: every layer holds a NACK cache, and a publisher naming new
    // SSRCs (or rids the offer did not have) would otherwise add layers without end.
    if (index < 0 || up.layerIndexOf(up.ssrcOfLayer(index) ?? -1) === index) return undefined;
    this.#bind(up, ssrc, rid);
    return up;
  }

  /**
   * An RTX packet of a video track (its payload type, RFC 4588): the SSRC it repairs is the layer
   * named by the repaired-rid extension (simulcast) or the track's only one. Undefined when not RTX
   * or not placeable yet.
   */
  #learnRtx(packet: Buffer, ssrc: number): { up: UpTrack; mediaSsrc: number } | undefined {
    const pt = packet[1]! & 0x7f;
    const mid = this.#midExtId ? headerExtension(packet, this.#midExtId)?.toString('latin1') : undefined;
    let up: UpTrack | undefined;
    if (mid !== undefined) up = this.tracks.get(mid);
    else
      for (const t of this.tracks.values())
        if (this.#rtxPayloadTypes.get(t.mid) === pt && t.rids.length === 0) up = t;
    if (!up || this.#rtxPayloadTypes.get(up.mid) !== pt) return undefined;
    let mediaSsrc: number | undefined;
    const rid = this.#repairedRidExtId
      ? headerExtension(packet, this.#repairedRidExtId)?.toString('latin1')
      : undefined;
    if (rid !== undefined) {
      const candidate = up.ssrcOfLayer(up.rids.indexOf(rid));
      if (candidate !== undefined && up.layerIndexOf(candidate) === up.rids.indexOf(rid))
        mediaSsrc = candidate;
    } else if (up.rids.length === 0 && up.layerCount === 1) mediaSsrc = up.bestLayerSsrc;
    if (mediaSsrc === undefined) return undefined;
    const entry = { up, mediaSsrc };
    this.#rtx.set(keyOfSsrc(ssrc), entry);
    return entry;
  }

  /** Unwraps a retransmission (original sequence number first, RFC 4588 §4) back into its stream. */
  #onRtx(packet: Buffer, headerBytes: number, up: UpTrack, mediaSsrc: number): void {
    const padding = (packet[0]! & 0x20) !== 0 ? packet[packet.length - 1]! : 0;
    const end = packet.length - padding;
    // Padding-only (a bandwidth probe of the publisher's) or too short: nothing to repair.
    if (end - headerBytes < 3) return;
    const sequenceNumber = packet.readUInt16BE(headerBytes);
    // Only what was lost: a copy of a packet already here (probe padding) would reach every
    // subscriber a second time.
    if (!this.nacks.onRetransmission(keyOfSsrc(mediaSsrc), sequenceNumber)) {
      this.duplicates++;
      return;
    }
    const out = Buffer.allocUnsafe(end - 2);
    packet.copy(out, 0, 0, headerBytes);
    packet.copy(out, headerBytes, headerBytes + 2, end);
    out[0] = out[0]! & ~0x20;
    out[1] = (packet[1]! & 0x80) | up.codec.payloadType;
    out.writeUInt16BE(sequenceNumber, 2);
    out.writeUInt32BE(mediaSsrc, 8);
    this.repaired++;
    up.onRtp(out, headerBytes, mediaSsrc);
  }

  /** Asks the publisher again for what its streams lost on the way (RTCP NACK). */
  #sendNacks(): void {
    if (this.transport.state !== 'connected') return;
    this.nacks.collect(this.#clock.nowMs(), NACK_RETRY_MS, (key, seqs) => {
      for (let i = 0; i < seqs.length; i += NACK_BATCH) {
        const n = writeNack(
          this.#nackOut,
          0,
          this.#senderSsrc,
          ssrcOfKey(key),
          seqs.slice(i, i + NACK_BATCH),
        );
        if (n === 0) continue;
        if (mediaCounting.on) mediaCounters.nacksSent++;
        this.transport.sendRtcp(this.#nackOut.subarray(0, n));
      }
    });
  }

  #onRtcp(packet: Buffer): void {
    forEachRtcp(packet, (p) => {
      if (p.type !== RtcpType.SR || p.bytes < 28) return;
      const ssrc = packet.readUInt32BE(p.offset + 4);
      const seconds = packet.readUInt32BE(p.offset + 8) - 2_208_988_800;
      const fraction = packet.readUInt32BE(p.offset + 12) / 2 ** 32;
      this.#bySsrc
        .get(keyOfSsrc(ssrc))
        ?.onSenderReport(ssrc, (seconds + fraction) * 1000, packet.readUInt32BE(p.offset + 16));
    });
  }

  #checkReady(): void {
    let flowing = 0;
    let primaries = 0;
    // A backup sends nothing until a subscriber needs it (backup-codecs.ts): it is not waited for.
    for (const t of this.tracks.values()) {
      if (t.backupOf !== undefined) continue;
      primaries++;
      if (t.packetsReceived > 0) flowing++;
    }
    if (flowing >= Math.max(1, Math.min(this.totalTracks || primaries, primaries))) {
      this.#ready = true;
      this.#onReady();
    }
  }

  #sendTwcc(): void {
    if (this.transport.state !== 'connected') return;
    const bytes = this.#twcc.flush(this.#twccOut);
    if (bytes > 0) this.transport.sendRtcp(this.#twccOut.subarray(0, bytes));
  }

  /** REMB to the publisher so the browser ramps up its send bitrate (goog-remb). */
  #sendFeedback(): void {
    if (this.transport.state !== 'connected') return;
    const ssrcs = Array.from(this.#bySsrc.keys(), ssrcOfKey);
    if (ssrcs.length > 0) this.transport.sendRtcp(buildRemb(this.#senderSsrc, REMB_BITRATE_BPS, ssrcs));
  }
}

/** `video/VP8` → `vp8`: how `track_quality` names a backup's codec. */
function codecName(mimeType: string): string {
  return (mimeType.split('/')[1] ?? mimeType).toLowerCase();
}
