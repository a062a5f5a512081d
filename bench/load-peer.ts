// Protocol-level load peers: a publisher replaying pre-built VP8 simulcast and/or Opus at the real
// rates (send timestamp in every payload, keyframe on PLI/FIR), and a subscriber that counts what
// arrives per SSRC from the cleartext RTP header (packets, bytes, sequence gaps) and decrypts one
// packet in `sampleEvery` to check it and read the sender's timestamp.
import { randomInt } from 'node:crypto';
import type { DtlsCertificate } from '../src/transport/dtls/dtls-certificate.ts';
import { DEFAULT_SCTP_PORT, type SctpAssociation } from '../src/transport/sctp/index.ts';
import {
  AUDIO_FRAME_MS,
  audioPayload,
  buildRtp,
  extensionBlock,
  readStamp,
  SIMULCAST_720P,
  stampPacket,
  VIDEO_FPS,
  VideoLayerSource,
} from './media-packets.ts';
import { Pacer } from './pacer.ts';
import { PeerLink } from './peer-link.ts';
import { type LayerWish, requestLayer } from './quality-request.ts';
import { publisherOffer, readRemoteDescription, subscriberAnswer } from './sdp.ts';
import type { Signal } from './signal.ts';

let layerSources: VideoLayerSource[] | undefined;
/** The replayed frames per rid (base64, as chromium.ts encodes them), before the first publisher. */
let encodedLayers: Record<string, Array<{ key: boolean; data: string }>> | undefined;

export function useEncodedLayers(layers: Record<string, Array<{ key: boolean; data: string }>>): void {
  encodedLayers = layers;
  layerSources = undefined;
}

const sources = () => {
  layerSources ??= SIMULCAST_720P.map(
    (spec) =>
      new VideoLayerSource(
        spec,
        encodedLayers?.[spec.rid]?.map((f) => ({ key: f.key, data: Buffer.from(f.data, 'base64') })),
      ),
  );
  return layerSources;
};

/** Whether the replayed video is real VP8 (decodable) or synthetic. */
export const replayedVideo = (): 'vp8-encoded' | 'synthetic' => (encodedLayers ? 'vp8-encoded' : 'synthetic');
const AUDIO = audioPayload();

interface OutStream {
  ssrc: number;
  mid: string;
  rid: string | undefined;
  ext: Buffer;
  seq: number;
  source: VideoLayerSource | undefined;
  keyframeWanted: boolean;
  /** Next frame of the source's group of pictures. */
  cursor: number;
}

export interface PublisherOptions {
  certificate: DtlsCertificate;
  video: boolean;
  audio: boolean;
  /**
   * Send the top simulcast layer only: the raw UDP baseline forwards everything it gets, so it
   * gets what an SFU forwards to a subscriber wanting the top layer.
   */
  topLayerOnly?: boolean;
  /** The path to the server: UDP (default) or ICE-TCP. */
  transport?: 'udp' | 'tcp' | undefined;
  /**
   * Paced as a browser sends (default true; pacer.ts), its frames at a random phase of the frame
   * interval (publishers are independent cameras). False: each frame's packets at once, at the
   * phase the publisher was made at (publishers made together send together).
   */
  paced?: boolean | undefined;
}

/** Lifecycle: `start(signal | rawAddress)` → `tick()` from the process's send loop → `close()`. */
export class LoadPublisher {
  readonly #options: PublisherOptions;
  readonly link: PeerLink;
  readonly #streams: OutStream[] = [];
  readonly #startMs: number;
  /** Video goes through it when paced; audio never waits (a browser's pacer sends audio first). */
  readonly #pacer: Pacer | undefined;
  readonly #sendPaced = (packet: Buffer, stamp: boolean): void => this.#transmit(packet, stamp);
  #frame = 0;
  #audioFrame = 0;
  packetsSent = 0;
  bytesSent = 0;
  keyframeRequests = 0;
  streamId = `bench-${randomInt(1, 2 ** 31)}`;

  constructor(options: PublisherOptions) {
    this.#options = options;
    const paced = options.paced ?? true;
    this.#startMs = performance.now() + (paced ? Math.random() * (1000 / VIDEO_FPS) : 0);
    this.link = new PeerLink({
      certificate: options.certificate,
      onRtp: () => undefined,
      onRtcp: (p) => this.#rtcp(p),
      transport: options.transport,
    });
    if (options.audio) {
      const m = 'a';
      this.#streams.push({
        ssrc: randomInt(1, 2 ** 31),
        mid: m,
        rid: undefined,
        ext: extensionBlock(m, undefined, 30),
        seq: randomInt(0, 30000),
        source: undefined,
        keyframeWanted: false,
        cursor: 0,
      });
    }
    if (options.video) {
      const m = 'v';
      const layers = options.topLayerOnly ? sources().slice(-1) : sources();
      for (const source of layers)
        this.#streams.push({
          ssrc: randomInt(1, 2 ** 31),
          mid: m,
          rid: source.spec.rid,
          ext: extensionBlock(m, source.spec.rid),
          seq: randomInt(0, 30000),
          source,
          keyframeWanted: true,
          cursor: 0,
        });
    }
    const videoBps = this.#streams.reduce((bps, s) => bps + (s.source?.spec.bitrateBps ?? 0), 0);
    this.#pacer = paced && videoBps > 0 ? new Pacer(videoBps) : undefined;
  }

  offer(): string {
    const audio = this.#streams.find((s) => !s.source);
    const video = this.#streams.filter((s) => s.source);
    return publisherOffer(
      this.link.local,
      {
        audio: audio ? { ssrc: audio.ssrc } : undefined,
        video: video.length ? { ssrcs: video.map((s) => s.ssrc), layers: SIMULCAST_720P } : undefined,
      },
      this.streamId,
    );
  }

  async start(signal: Signal): Promise<void> {
    await this.link.bind();
    const answer = await signal.publish(this.offer(), {
      video: this.#options.video,
      audio: this.#options.audio,
    });
    await this.link.connect(readRemoteDescription(answer));
  }

  /** Raw baseline: tell the forwarder which room this publisher feeds, then send plain RTP. */
  async startRaw(forwarder: { ip: string; port: number }, room: number): Promise<void> {
    await this.link.bind();
    this.link.connectRaw(forwarder);
    const hello = Buffer.alloc(8);
    hello.write('PUB!', 0);
    hello.writeUInt32BE(room, 4);
    this.link.sendDatagram(hello);
  }

  /** Sends every frame due by now (video at 30 fps, audio every 20 ms). */
  tick(nowMs: number): void {
    const elapsed = nowMs - this.#startMs;
    if (elapsed < 0) return;
    if (this.#options.video) {
      while (this.#frame <= (elapsed * VIDEO_FPS) / 1000) {
        this.#sendVideoFrame(this.#frame);
        this.#frame++;
      }
    }
    if (this.#options.audio) {
      while (this.#audioFrame <= elapsed / AUDIO_FRAME_MS) {
        const s = this.#streams[0]!;
        this.#send(s, AUDIO, this.#audioFrame * 960, true);
        this.#audioFrame++;
      }
    }
    this.#pacer?.drain(nowMs, this.#sendPaced);
  }

  #sendVideoFrame(frame: number): void {
    const timestamp = frame * (90_000 / VIDEO_FPS);
    for (const s of this.#streams) {
      if (!s.source) continue;
      // A keyframe request restarts the group of pictures (its first frame is the keyframe).
      if (s.keyframeWanted) s.cursor = 0;
      s.keyframeWanted = false;
      const payloads = s.source.frame(s.cursor++, frame);
      for (let i = 0; i < payloads.length; i++)
        this.#send(s, payloads[i]!, timestamp, i === payloads.length - 1);
    }
  }

  #send(s: OutStream, payload: Buffer, timestamp: number, marker: boolean): void {
    const packet = buildRtp({
      payloadType: s.source ? 96 : 111,
      marker,
      seq: s.seq++,
      timestamp,
      ssrc: s.ssrc,
      extensions: s.ext,
      payload,
    });
    if (s.source && this.#pacer) this.#pacer.enqueue(packet, marker);
    else this.#transmit(packet, marker);
  }

  #transmit(packet: Buffer, stamp: boolean): void {
    // The last packet of a frame (and every audio packet) carries the send timestamp at its end,
    // written as it leaves.
    if (stamp) stampPacket(packet, process.hrtime.bigint());
    this.bytesSent += this.link.sendRtp(packet);
    this.packetsSent++;
  }

  /** PLI (PSFB FMT 1) and FIR (PSFB FMT 4) ask for a keyframe on the media SSRC. */
  #rtcp(compound: Buffer): void {
    let o = 0;
    while (o + 4 <= compound.length) {
      const fmt = compound[o]! & 0x1f;
      const pt = compound[o + 1]!;
      const bytes = (compound.readUInt16BE(o + 2) + 1) * 4;
      if (pt === 206 && (fmt === 1 || fmt === 4) && o + 12 <= compound.length) {
        const media = fmt === 1 ? compound.readUInt32BE(o + 8) : compound.readUInt32BE(o + 12);
        this.keyframeRequests++;
        for (const s of this.#streams)
          if (s.source && (s.ssrc === media || fmt === 4)) s.keyframeWanted = true;
      }
      o += bytes;
    }
  }

  close(): void {
    this.link.close();
  }
}

interface InStream {
  firstSeq: number;
  highestSeq: number;
  received: number;
}

export interface SubscriberCounters {
  packets: number;
  bytes: number;
  lost: number;
  expected: number;
  sampled: number;
  authFailures: number;
  /** ms from subscribe to the first RTP packet; -1 before it. */
  firstRtpMs: number;
}

export class LoadSubscriber {
  readonly link: PeerLink;
  readonly #sampleEvery: number;
  readonly #streams = new Map<number, InStream>();
  readonly #scratch = Buffer.alloc(1600);
  /** Forwarding latency samples (µs) since the last `takeLatencies()`. */
  #latencies: number[] = [];
  #subscribedAt = 0;
  packets = 0;
  bytes = 0;
  sampled = 0;
  authFailures = 0;
  firstRtpMs = -1;
  /** ms from subscribe to the server's offer. */
  offerMs = -1;
  /** The layer asked for over `track_quality` (none: the server's default, the top layer). */
  readonly #wish: LayerWish | undefined;
  #association: SctpAssociation | undefined;
  #dataAccepted = false;
  /** The layer request was sent (a video track was offered and the channel opened). */
  layerRequested = false;

  constructor(options: {
    certificate: DtlsCertificate;
    sampleEvery: number;
    transport?: 'udp' | 'tcp' | undefined;
    layer?: LayerWish | undefined;
  }) {
    this.#sampleEvery = Math.max(1, options.sampleEvery);
    this.#wish = options.layer;
    this.link = new PeerLink({
      certificate: options.certificate,
      onRtp: (p) => this.#rtp(p),
      transport: options.transport,
    });
  }

  async subscribe(signal: Signal, targetId: string): Promise<void> {
    await this.link.bind();
    signal.onRenegotiation((target, sdp) => {
      // The participant's socket is shared by its subscriptions: answer only for our target.
      if (target !== targetId) return;
      const offer = readRemoteDescription(sdp);
      // The data section, once accepted, stays accepted (a decline would end the channel).
      const answer = subscriberAnswer(this.link.local, offer, 'active', this.#dataAccepted);
      signal.answer(target, answer).catch(() => undefined);
    });
    this.#subscribedAt = performance.now();
    const offer = readRemoteDescription(await signal.subscribe(targetId));
    this.offerMs = performance.now() - this.#subscribedAt;
    const video = offer.sections.find((s) => s.kind === 'video' && s.port !== 0 && s.trackId);
    const data = offer.sections.find((s) => s.kind === 'application' && s.port !== 0);
    const wantsLayer = this.#wish !== undefined && video !== undefined && data !== undefined;
    this.#dataAccepted = wantsLayer;
    await signal.answer(
      targetId,
      subscriberAnswer(this.link.local, offer, offer.setup === 'active' ? 'passive' : 'active', wantsLayer),
    );
    await this.link.connect(offer);
    if (!wantsLayer) return;
    this.#association = await requestLayer(
      this.link,
      { sctpPort: data.sctpPort ?? DEFAULT_SCTP_PORT },
      video.trackId!,
      this.#wish!,
    );
    this.layerRequested = true;
  }

  /** Raw baseline: say hello to the forwarder as a subscriber of `room`. */
  async subscribeRaw(forwarder: { ip: string; port: number }, room: number): Promise<void> {
    await this.link.bind();
    this.link.connectRaw(forwarder);
    this.#subscribedAt = performance.now();
    const hello = Buffer.alloc(8);
    hello.write('SUB!', 0);
    hello.writeUInt32BE(room, 4);
    this.link.sendDatagram(hello);
  }

  #rtp(packet: Buffer): void {
    if (this.firstRtpMs < 0) this.firstRtpMs = performance.now() - this.#subscribedAt;
    this.packets++;
    this.bytes += packet.length;
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    let s = this.#streams.get(ssrc);
    if (!s) {
      s = { firstSeq: seq, highestSeq: seq, received: 0 };
      this.#streams.set(ssrc, s);
    } else {
      // Extended sequence number: within half the space of the highest seen.
      const delta = ((seq - (s.highestSeq & 0xffff) + 0x8000) & 0xffff) - 0x8000;
      if (delta > 0) s.highestSeq += delta;
    }
    s.received++;
    // Decrypted: every frame's last packet (marker bit: it carries the send timestamp), and one
    // packet in `sampleEvery` of the rest to check their authentication.
    if ((packet[1]! & 0x80) === 0 && this.packets % this.#sampleEvery !== 0) return;
    let length = packet.length;
    let plain = packet;
    if (this.link.srtpIn) {
      if (packet.length > this.#scratch.length) return;
      const n = this.link.srtpIn.unprotectRtp(packet, this.#scratch);
      if (typeof n !== 'number') {
        this.authFailures++;
        return;
      }
      length = n;
      plain = this.#scratch;
    }
    this.sampled++;
    const sent = readStamp(plain, length);
    if (sent !== undefined) this.#latencies.push(Number(process.hrtime.bigint() - sent) / 1000);
  }

  takeLatencies(): number[] {
    const out = this.#latencies;
    this.#latencies = [];
    return out;
  }

  counters(): SubscriberCounters {
    let expected = 0;
    let received = 0;
    for (const s of this.#streams.values()) {
      expected += s.highestSeq - s.firstSeq + 1;
      received += s.received;
    }
    return {
      packets: this.packets,
      bytes: this.bytes,
      lost: Math.max(0, expected - received),
      expected,
      sampled: this.sampled,
      authFailures: this.authFailures,
      firstRtpMs: this.firstRtpMs,
    };
  }

  close(): void {
    this.#association?.close();
    this.link.close();
  }
}
