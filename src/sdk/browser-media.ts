import {
  activeEncodings,
  BACKUP_CODEC,
  type LayersWanted,
  parseLayersWanted,
  wantsBackup,
} from './backup-codec.ts';
import { summarise } from './browser-stats.ts';
import type { LocalMedia } from './local-media.ts';
import {
  type BackupSection,
  encodeTrackQuality,
  type IceStateEvent,
  type LocalTracksInfo,
  type MediaController,
  type PublishOptions,
  type RawConnectionStats,
  type RemoteTrackEvent,
  type StatsSample,
} from './media.ts';
import { codecsOnly, codecsPreferring, simulcastEncodings } from './video-encodings.ts';

const PC_CONFIG: RTCConfiguration = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };

export interface BrowserMediaOptions {
  /** STUN/TURN servers, asked before each connection is made (default: none, host candidates only). */
  iceServers?: () => Promise<RTCIceServer[]>;
  /** `relay`: only TURN relay candidates (tests, or networks where only the TURN server is reachable). */
  iceTransportPolicy?: RTCIceTransportPolicy;
}

/** What pauses every encoding of a backup (activeEncodings). */
const NOBODY_WANTS_BACKUP: LayersWanted = {
  trackId: '',
  quality: 0,
  subscribedCount: 0,
  codec: BACKUP_CODEC,
};

/** MediaController on RTCPeerConnection: one publisher connection, one per remote participant. */
export class BrowserMedia implements MediaController {
  readonly #local: LocalMedia;
  #publisher: RTCPeerConnection | null = null;
  #videoSender: RTCRtpSender | null = null;
  /** The camera's backup in VP8 (backup-codec.ts), when it is sent in another codec. */
  #backupSender: RTCRtpSender | null = null;
  /** What the server last asked of the backup (paused until it asks). */
  #backupWanted: LayersWanted = NOBODY_WANTS_BACKUP;
  /** The camera's and its backup's transceivers, for their mids once the offer is set. */
  #backupPair: { primary: RTCRtpTransceiver; backup: RTCRtpTransceiver } | null = null;
  /** The camera's track id as the publish offer named it (what the server's track_quality names). */
  #videoTrackId: string | null = null;
  #audioSender: RTCRtpSender | null = null;
  #screen: { stream: MediaStream; track: MediaStreamTrack } | null = null;
  #screenSender: RTCRtpSender | null = null;
  readonly #subscribers = new Map<string, RTCPeerConnection>();
  /** Per subscriber connection: its `track_quality` channel and the latest wish per track. */
  readonly #qualityChannels = new Map<string, { channel: RTCDataChannel; wishes: Map<string, number> }>();
  readonly #trackHandlers = new Set<(e: RemoteTrackEvent) => void>();
  readonly #endedHandlers = new Set<(e: RemoteTrackEvent) => void>();
  readonly #iceHandlers = new Set<(e: IceStateEvent) => void>();
  readonly #offTrackReplaced: () => void;
  readonly #options: BrowserMediaOptions;

  constructor(local: LocalMedia, options: BrowserMediaOptions = {}) {
    this.#local = local;
    this.#options = options;
    this.#offTrackReplaced = local.onTrackReplaced((kind, track) => {
      const senders = kind === 'audio' ? [this.#audioSender] : [this.#videoSender, this.#backupSender];
      // replaceTrack fails only on a closed connection, which sends nothing anyway.
      for (const sender of senders) sender?.replaceTrack(track).catch(() => undefined);
    });
  }

  get publisher(): RTCPeerConnection | null {
    return this.#publisher;
  }

  screenStream(): MediaStream | null {
    return this.#screen?.stream ?? null;
  }

  localTracks(): LocalTracksInfo {
    return { audio: this.#local.audioTrack !== null, video: this.#local.videoTrack !== null };
  }

  async createPublisherOffer(options: PublishOptions): Promise<string> {
    const config = await this.#rtcConfig();
    this.closePublisher();
    const pc = new RTCPeerConnection(config);
    this.#publisher = pc;
    const stream = this.#local.stream;
    const video = this.#local.videoTrack;
    if (video) {
      const simulcast = options.simulcast && options.codec !== 'VP9';
      const transceiver = pc.addTransceiver(video, {
        direction: 'sendonly',
        streams: [stream],
        ...(simulcast ? { sendEncodings: simulcastEncodings() } : {}),
      });
      transceiver.setCodecPreferences(codecsPreferring(options.codec));
      this.#videoSender = transceiver.sender;
      this.#videoTrackId = video.id;
      const backup = wantsBackup(options) ? this.#addBackup(pc, video, stream, options.simulcast) : null;
      this.#backupSender = backup?.sender ?? null;
      this.#backupWanted = NOBODY_WANTS_BACKUP;
      this.#backupPair = backup ? { primary: transceiver, backup } : null;
    }
    // As the Flutter SDK: a `track_quality` channel of our own gives the offer its data section;
    // the server then opens its own `track_quality` channel with Dynacast's wishes.
    pc.addEventListener('iceconnectionstatechange', () => {
      if (this.#publisher === pc) this.#emitIce({ targetId: null, state: pc.iceConnectionState });
    });
    pc.createDataChannel('track_quality');
    pc.addEventListener('datachannel', ({ channel }) => {
      if (channel.label !== 'track_quality') return;
      channel.binaryType = 'arraybuffer';
      channel.addEventListener('message', (e) => void this.#onLayersWanted(pc, e.data));
    });
    const audio = this.#local.audioTrack;
    if (audio) {
      this.#audioSender = pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] }).sender;
    }
    if (this.#screen) this.#addScreen(pc, this.#screen);
    await pc.setLocalDescription(await pc.createOffer());
    return pc.localDescription!.sdp;
  }

  backupSections(): BackupSection[] {
    const pair = this.#backupPair;
    if (!pair?.primary.mid || !pair.backup.mid) return [];
    return [{ mid: pair.backup.mid, primaryMid: pair.primary.mid }];
  }

  async applyPublisherAnswer(sdp: string): Promise<void> {
    await this.#requirePublisher().setRemoteDescription({ type: 'answer', sdp });
    // Chromium turns every encoding the answer's a=simulcast lists back on: the backup keeps
    // what the server last asked of it.
    if (this.#backupSender) await applyLayersWanted(this.#backupSender, this.#backupWanted);
  }

  async renegotiatePublisher(options: { iceRestart?: boolean } = {}): Promise<string> {
    const pc = this.#requirePublisher();
    // A restart gathers new relay candidates: give it TURN credentials that are still valid.
    if (options.iceRestart && this.#options.iceServers) pc.setConfiguration(await this.#rtcConfig());
    await pc.setLocalDescription(await pc.createOffer(options.iceRestart ? { iceRestart: true } : {}));
    return pc.localDescription!.sdp;
  }

  async addPublisherCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    await this.#publisher?.addIceCandidate(candidate).catch(() => undefined);
  }

  closePublisher(): void {
    this.#publisher?.close();
    this.#publisher = null;
    this.#videoSender = null;
    this.#backupSender = null;
    this.#backupPair = null;
    this.#videoTrackId = null;
    this.#audioSender = null;
    this.#screenSender = null;
  }

  async answerSubscriber(targetId: string, offer: string): Promise<string> {
    // Asked first: between the look-up and the new connection nothing may run (a close, a candidate).
    const config = await this.#rtcConfig();
    let pc = this.#subscribers.get(targetId);
    if (!pc || pc.signalingState === 'closed') {
      pc = this.#newSubscriber(targetId, config);
      this.#subscribers.set(targetId, pc);
    }
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    return pc.localDescription!.sdp;
  }

  async addSubscriberCandidate(targetId: string, candidate: RTCIceCandidateInit): Promise<void> {
    await this.#subscribers
      .get(targetId)
      ?.addIceCandidate(candidate)
      .catch(() => undefined);
  }

  setPreferredQuality(targetId: string, trackId: string, quality: 0 | 1 | 2 | 3): void {
    const entry = this.#qualityChannels.get(targetId);
    if (!entry) return;
    entry.wishes.set(trackId, quality);
    if (entry.channel.readyState === 'open') sendQuality(entry.channel, trackId, quality);
  }

  closeSubscriber(targetId: string): void {
    this.#qualityChannels.delete(targetId);
    this.#subscribers.get(targetId)?.close();
    this.#subscribers.delete(targetId);
  }

  async startScreenShare(onEnded: () => void): Promise<string> {
    if (this.#screen) return this.#screen.track.id;
    const stream = await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 15 } },
      audio: false,
    });
    const track = stream.getVideoTracks()[0]!;
    track.contentHint = 'detail';
    track.addEventListener('ended', onEnded);
    this.#screen = { stream, track };
    if (this.#publisher) this.#addScreen(this.#publisher, this.#screen);
    return track.id;
  }

  stopScreenShare(): void {
    const screen = this.#screen;
    if (!screen) return;
    this.#screen = null;
    screen.track.stop();
    if (this.#publisher && this.#screenSender && this.#publisher.signalingState !== 'closed') {
      this.#publisher.removeTrack(this.#screenSender);
    }
    this.#screenSender = null;
  }

  setTrackEnabled(kind: 'audio' | 'video', enabled: boolean): void {
    const track = kind === 'audio' ? this.#local.audioTrack : this.#local.videoTrack;
    if (track) track.enabled = enabled;
  }

  onRemoteTrack(handler: (event: RemoteTrackEvent) => void): void {
    this.#trackHandlers.add(handler);
  }

  onRemoteTrackEnded(handler: (event: RemoteTrackEvent) => void): void {
    this.#endedHandlers.add(handler);
  }

  onIceState(handler: (event: IceStateEvent) => void): void {
    this.#iceHandlers.add(handler);
  }

  #emitIce(event: IceStateEvent): void {
    for (const handler of [...this.#iceHandlers]) handler(event);
  }

  async sampleStats(): Promise<StatsSample> {
    const connections: Record<string, RawConnectionStats> = {};
    const jobs: Array<Promise<void>> = [];
    const collect = (key: string, pc: RTCPeerConnection) =>
      jobs.push(
        pc.getStats().then((report) => {
          connections[key] = summarise(report);
        }),
      );
    if (this.#publisher) collect('local', this.#publisher);
    for (const [id, pc] of this.#subscribers) collect(id, pc);
    await Promise.all(jobs);
    return { at: performance.now(), connections };
  }

  close(): void {
    this.#offTrackReplaced();
    this.stopScreenShare();
    this.closePublisher();
    for (const id of [...this.#subscribers.keys()]) this.closeSubscriber(id);
  }

  async #rtcConfig(): Promise<RTCConfiguration> {
    const iceServers = (await this.#options.iceServers?.()) ?? [];
    const policy = this.#options.iceTransportPolicy;
    return { ...PC_CONFIG, iceServers, ...(policy ? { iceTransportPolicy: policy } : {}) };
  }

  #requirePublisher(): RTCPeerConnection {
    if (!this.#publisher) throw new Error('bbmeet: no publisher connection');
    return this.#publisher;
  }

  /**
   * The camera's backup: the same track on a transceiver that offers only VP8, with the camera's
   * layer set, every encoding paused until the server asks for it (the publish payload names it,
   * backupSections). Null when the browser has no VP8.
   */
  #addBackup(
    pc: RTCPeerConnection,
    video: MediaStreamTrack,
    stream: MediaStream,
    simulcast: boolean,
  ): RTCRtpTransceiver | null {
    const codecs = codecsOnly(BACKUP_CODEC);
    if (!codecs.some((c) => c.mimeType.toLowerCase() !== 'video/rtx')) return null;
    const encodings = simulcast ? simulcastEncodings() : [{}];
    const transceiver = pc.addTransceiver(video, {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: encodings.map((e) => ({ ...e, active: false })),
    });
    transceiver.setCodecPreferences(codecs);
    return transceiver;
  }

  /**
   * Dynacast (docs/data-channels.md): `{trackId, subscribedCount, quality 0-3}` is the highest
   * simulcast layer anyone wants of our camera; the layers above it stop being encoded and sent.
   * The lowest layer always stays on: a track that sends nothing is never announced to the room,
   * and a new subscriber starts from it. With `codec` it is about the camera's backup, which is
   * sent only while some subscriber wants it (backup-codec.ts).
   */
  async #onLayersWanted(pc: RTCPeerConnection, data: unknown): Promise<void> {
    if (pc !== this.#publisher) return;
    const wanted = parseLayersWanted(data);
    if (!wanted || wanted.trackId !== this.#videoTrackId) return;
    if (wanted.codec !== undefined) this.#backupWanted = wanted;
    const sender = wanted.codec === undefined ? this.#videoSender : this.#backupSender;
    if (sender) await applyLayersWanted(sender, wanted);
  }

  #addScreen(pc: RTCPeerConnection, screen: { stream: MediaStream; track: MediaStreamTrack }): void {
    this.#screenSender = pc.addTransceiver(screen.track, {
      direction: 'sendonly',
      streams: [screen.stream],
    }).sender;
  }

  #newSubscriber(targetId: string, config: RTCConfiguration): RTCPeerConnection {
    const pc = new RTCPeerConnection(config);
    // As the Flutter SDK: our own `track_quality` channel; it opens once the server's offer
    // carries an application section (SCTP), and then gets the wishes made meanwhile.
    pc.addEventListener('iceconnectionstatechange', () => {
      if (this.#subscribers.get(targetId) === pc) this.#emitIce({ targetId, state: pc.iceConnectionState });
    });
    const channel = pc.createDataChannel('track_quality');
    channel.binaryType = 'arraybuffer';
    const entry = { channel, wishes: new Map<string, number>() };
    this.#qualityChannels.set(targetId, entry);
    channel.addEventListener('open', () => {
      for (const [trackId, quality] of entry.wishes) sendQuality(channel, trackId, quality);
    });
    pc.addEventListener('track', (event) => {
      const stream = event.streams[0] ?? new MediaStream([event.track]);
      const info: RemoteTrackEvent = { targetId, track: event.track, stream };
      for (const handler of [...this.#trackHandlers]) handler(info);
      // A section made inactive by a renegotiation removes its track from the stream.
      stream.addEventListener('removetrack', (e) => {
        if (e.track !== event.track) return;
        for (const handler of [...this.#endedHandlers]) handler(info);
      });
    });
    return pc;
  }
}

/** Sets the encodings of `sender` to what `wanted` asks (a simulcast camera, or any backup). */
async function applyLayersWanted(sender: RTCRtpSender, wanted: LayersWanted): Promise<void> {
  const params = sender.getParameters();
  if (params.encodings.length < 2 && wanted.codec === undefined) return;
  const active = activeEncodings(wanted, params.encodings.length);
  let changed = false;
  params.encodings.forEach((e, i) => {
    if (e.active !== active[i]) changed = true;
    e.active = active[i]!;
  });
  // Why: setParameters rejects on a closed connection or while an earlier call is pending: the
  // encodings then stay as they were until the next message.
  if (changed) await sender.setParameters(params).catch(() => undefined);
}

/** Waterbus `track_quality`: JSON as UTF-8 bytes (a binary message). */
function sendQuality(channel: RTCDataChannel, trackId: string, quality: number): void {
  try {
    channel.send(encodeTrackQuality(trackId, quality) as Uint8Array<ArrayBuffer>);
  } catch {
    // Closing: the wish goes with the connection.
  }
}
