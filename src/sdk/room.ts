import { Emitter } from './emitter.ts';
import { IceWatchdog, type IceWatchdogRoom } from './ice-watchdog.ts';
import type { MediaController, PublishOptions, RemoteTrackEvent } from './media.ts';
import { RemoteTracks } from './remote-tracks.ts';
import type { RoomApi } from './rest.ts';
import { type ChannelStatus, type SignallingChannel, SignallingError } from './signalling.ts';
import { StateMachine } from './state.ts';
import { type ConnectionStats, computeStats } from './stats.ts';
import {
  type ActiveSpeaker,
  type ChatMessage,
  type ConnectionQuality,
  defaultMediaState,
  type MediaState,
  type MessageJson,
  type Participant,
  type ParticipantJson,
  type PreferredQuality,
  type RoomEvents,
  type RoomJson,
  type RoomState,
  type SubscribeReply,
  type TrackInfo,
} from './types.ts';

/** SFU mode (Waterbus connectionType 1): the server answers our offer and offers us each remote participant. */
const SFU = 1;

export interface RoomOptions {
  signalling: SignallingChannel;
  api: RoomApi;
  media: MediaController;
  publish?: Partial<PublishOptions>;
  /** Give up (state `left`, error event) when the connection has not come back by then. Default 60 s. */
  reconnectTimeoutMs?: number;
  /** How long to wait for the socket before a join fails as "server unreachable". Default 10 s. */
  connectTimeoutMs?: number;
  /** How long the publisher's ICE may stay `disconnected` before an ICE restart. Default 2 s. */
  iceDisconnectedMs?: number;
  /**
   * How long an ICE restart may take to bring the publisher back before the full rejoin (and how
   * long a subscriber connection may stay `disconnected` before it is resubscribed). Default 10 s.
   */
  iceRestartTimeoutMs?: number;
}

export interface JoinOptions {
  /** A room code (GET /rooms/:code). */
  code?: string;
  /** Or the room's numeric id. */
  roomId?: number;
  /** Without code or id: create a room with this title (the caller becomes host). */
  title?: string;
  password?: string;
  /** Initial state of the microphone and camera (default on). */
  audio?: boolean;
  video?: boolean;
  /**
   * Subscribe to every participant (default). With false, nobody is received until
   * `room.subscribe(participantId)`.
   */
  autoSubscribe?: boolean;
}

/**
 * A call in one room, Waterbus SFU flow: REST join (creates our participant), `room.publish` with
 * our offer (ack: the answer), `room.subscribe` for each other participant (ack: the server's
 * offer) answered with `room.answer_subscriber`, `room.subscriber_renegotiation` answered the same
 * way, media state and chat events. After a socket drop it sends `room.reconnect` (or joins again
 * over REST when the participant is gone), publishes again and resubscribes.
 */
export class Room extends Emitter<RoomEvents> {
  readonly #signalling: SignallingChannel;
  readonly #api: RoomApi;
  readonly #media: MediaController;
  readonly #publishOptions: PublishOptions;
  readonly #reconnectTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #machine: StateMachine;
  readonly #participants = new Map<string, Participant>();
  readonly #tracks = new RemoteTracks({
    added: (track) => this.emit('trackAdded', track),
    removed: (track) => this.emit('trackRemoved', track),
  });
  readonly #answers = new Map<string, Promise<void>>();
  readonly #subscribed = new Set<string>();
  /**
   * Each subscription to a target gets the next number: a reply (or an answer being made) for an
   * older one is dropped, since the server replaced that subscription with the newer one.
   */
  readonly #subscriptionGeneration = new Map<string, number>();
  /** Whom we want to receive: everyone with autoSubscribe, else those passed to subscribe(). */
  readonly #wanted = new Set<string>();
  #autoSubscribe = true;
  readonly #ice: IceWatchdog;
  #publisherNegotiation: Promise<void> = Promise.resolve();
  /** Counts publisher connections, so that a late renegotiation answer is not applied to a newer one. */
  #publisherEpoch = 0;
  readonly #offs: Array<() => void> = [];
  /** setPreferredQuality wishes by participant, kept across resubscriptions. */
  readonly #preferred = new Map<string, 0 | 1 | 2 | 3>();
  #speakers: ActiveSpeaker[] = [];
  readonly #quality = new Map<string, ConnectionQuality>();
  #room: RoomJson | null = null;
  #password: string | undefined;
  #local: Participant | null = null;
  #resuming: Promise<void> | null = null;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #lastStats: Awaited<ReturnType<MediaController['sampleStats']>> | null = null;
  #screenTrackId: string | null = null;

  constructor(options: RoomOptions) {
    super();
    this.#signalling = options.signalling;
    this.#api = options.api;
    this.#media = options.media;
    this.#publishOptions = { simulcast: true, codec: 'VP8', backupCodec: true, ...options.publish };
    this.#reconnectTimeoutMs = options.reconnectTimeoutMs ?? 60_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#ice = new IceWatchdog(this.#iceWatchdogRoom(), {
      disconnectedMs: options.iceDisconnectedMs ?? 2_000,
      restartTimeoutMs: options.iceRestartTimeoutMs ?? 10_000,
    });
    this.#machine = new StateMachine((state, previous) => this.emit('stateChanged', { state, previous }));
  }

  get state(): RoomState {
    return this.#machine.state;
  }

  get roomId(): number | null {
    return this.#room?.id ?? null;
  }

  get code(): string | null {
    return this.#room?.code ?? null;
  }

  get title(): string | null {
    return this.#room?.title ?? null;
  }

  get localParticipant(): Participant | null {
    return this.#local;
  }

  /** The other participants, by participant id. */
  get participants(): ReadonlyMap<string, Participant> {
    return this.#participants;
  }

  /** The screen we share, while we do. */
  get localScreenStream(): MediaStream | null {
    return this.#media.screenStream();
  }

  /** Who speaks now, loudest first (from the last `activeSpeakersChanged`). */
  get activeSpeakers(): readonly ActiveSpeaker[] {
    return this.#speakers;
  }

  /** A participant's (or our own) last known connection quality. */
  connectionQuality(participantId: string): ConnectionQuality | undefined {
    return this.#quality.get(participantId);
  }

  /**
   * The video quality we want of a participant's camera: 'off' pauses it, 'low'/'medium'/'high'
   * pick the simulcast layer (Waterbus `track_quality` 0–3, on that participant's subscriber
   * connection). Kept for later tracks and resubscriptions.
   */
  setPreferredQuality(participantId: string, quality: PreferredQuality): void {
    const value = QUALITY_VALUE[quality];
    this.#preferred.set(participantId, value);
    for (const t of this.#tracks.of(participantId))
      if (t.kind === 'video' && t.source === 'camera')
        this.#media.setPreferredQuality(participantId, t.track.id, value);
  }

  /**
   * Starts receiving a participant (needed with `autoSubscribe: false`; a no-op when already
   * subscribed). Kept across reconnections until `unsubscribe`.
   */
  async subscribe(participantId: string): Promise<void> {
    if (!this.#machine.is('joined', 'reconnecting')) throw new Error('bbmeet: join a room first');
    if (!this.#participants.has(participantId))
      throw new Error(`bbmeet: no participant ${participantId} in the room`);
    this.#wanted.add(participantId);
    if (this.#subscribed.has(participantId) || !this.#machine.is('joined')) return;
    await this.#subscribe(participantId);
  }

  /** Stops receiving a participant: its subscriber connection is closed and its tracks removed. */
  unsubscribe(participantId: string): void {
    this.#wanted.delete(participantId);
    this.#ice.clearSubscriber(participantId);
    if (!this.#subscribed.delete(participantId)) return;
    this.#dropSubscription(participantId);
  }

  /** Whether we receive (or are about to receive) a participant. */
  isSubscribed(participantId: string): boolean {
    return this.#subscribed.has(participantId);
  }

  tracksOf(participantId: string): readonly TrackInfo[] {
    return this.#tracks.of(participantId);
  }

  async join(options: JoinOptions = {}): Promise<void> {
    this.#machine.to('connecting');
    this.#autoSubscribe = options.autoSubscribe ?? true;
    this.#listen();
    try {
      await this.#waitConnected();
      const room = options.roomId
        ? { id: options.roomId }
        : options.code
          ? await this.#api.roomByCode(options.code)
          : await this.#api.createRoom(options.title ?? 'Meeting', options.password);
      this.#password = options.password;
      const [me, joined] = await Promise.all([this.#api.me(), this.#api.joinRoom(room.id, options.password)]);
      this.#room = joined;
      const mine = [...joined.participants].reverse().find((p) => p.userId === me.id);
      if (!mine) throw new Error('bbmeet: the join reply does not hold our participant');
      const state = defaultMediaState();
      state.audioEnabled = options.audio ?? true;
      state.videoEnabled = options.video ?? true;
      this.#local = {
        id: String(mine.id),
        userId: me.id,
        name: me.fullName ?? me.userName,
        isLocal: true,
        state,
      };
      this.#media.setTrackEnabled('audio', state.audioEnabled);
      this.#media.setTrackEnabled('video', state.videoEnabled);
      await this.#publish();
      this.#machine.to('joined');
      for (const p of joined.participants) if (p.id !== mine.id) this.#addParticipant(p);
    } catch (err) {
      this.#teardown();
      this.#machine.tryTo('left');
      throw err;
    }
  }

  async leave(): Promise<void> {
    if (this.#machine.is('left')) return;
    if (this.#machine.is('joined', 'reconnecting') && this.#signalling.connected && this.#room) {
      await this.#signalling.request('room.leave', { roomId: String(this.#room.id) }, 3000).catch(() => {});
    }
    this.#teardown();
    this.#machine.tryTo('left');
  }

  async setMicrophoneEnabled(enabled: boolean): Promise<void> {
    await this.#setLocalState('audio', enabled);
  }

  async setCameraEnabled(enabled: boolean): Promise<void> {
    await this.#setLocalState('video', enabled);
  }

  async raiseHand(raised: boolean): Promise<void> {
    const local = this.#requireLocal();
    local.state.handRaising = raised;
    this.emit('mediaStateChanged', { participant: local, changed: ['handRaising'] });
    if (this.#machine.is('joined'))
      await this.#signalling.request('room.hand_raising', { isRaising: raised });
  }

  /** Shares the screen (the browser asks which one); resolves once the others are offered it. */
  async startScreenShare(): Promise<void> {
    const local = this.#requireLocal();
    if (this.#screenTrackId) return;
    const trackId = await this.#media.startScreenShare(() => void this.stopScreenShare().catch(() => {}));
    this.#screenTrackId = trackId;
    local.state.screenSharing = true;
    local.state.screenTrackId = trackId;
    this.emit('mediaStateChanged', { participant: local, changed: ['screenSharing', 'screenTrackId'] });
    if (!this.#machine.is('joined')) return;
    await this.#signalling.request('room.screen_sharing', { isSharing: true, screenTrackId: trackId });
    await this.#renegotiatePublisher();
  }

  async stopScreenShare(): Promise<void> {
    const local = this.#requireLocal();
    if (!this.#screenTrackId) return;
    this.#screenTrackId = null;
    this.#media.stopScreenShare();
    local.state.screenSharing = false;
    local.state.screenTrackId = null;
    this.emit('mediaStateChanged', { participant: local, changed: ['screenSharing', 'screenTrackId'] });
    if (!this.#machine.is('joined')) return;
    await this.#signalling.request('room.screen_sharing', { isSharing: false });
    await this.#renegotiatePublisher();
  }

  /** Sends a chat message (REST); it comes back to everyone, us included, as a `chat` event. */
  async sendChat(text: string): Promise<ChatMessage> {
    const room = this.#room;
    if (!room) throw new Error('bbmeet: not in a room');
    return this.#chatMessage(await this.#api.sendChat(room.id, text));
  }

  /** The latest messages of the room, oldest first. */
  async chatHistory(limit = 50): Promise<ChatMessage[]> {
    const room = this.#room;
    if (!room) return [];
    const messages = await this.#api.listChat(room.id, limit);
    return messages.reverse().map((m) => this.#chatMessage(m));
  }

  /**
   * Where to watch a participant as HLS (`room.subscribe_hls_live_stream`): the absolute URLs of
   * its master playlist, or of the room's stream when only the whole room is live. Rejects with a
   * SignallingError: `unsupported` (no egress on the server), `not_found` (nobody streams it).
   */
  async subscribeHlsLiveStream(targetId: string): Promise<string[]> {
    const room = this.#room;
    const local = this.#local;
    if (!room || !local || !this.#machine.is('joined')) throw new Error('bbmeet: join a room first');
    const reply = await this.#signalling.request<{ hlsUrls?: unknown }>('room.subscribe_hls_live_stream', {
      targetId,
      roomId: String(room.id),
      participantId: local.id,
    });
    const urls = reply.hlsUrls;
    if (!Array.isArray(urls)) throw new Error('bbmeet: the HLS reply has no hlsUrls');
    return urls.map(String);
  }

  /** Bitrate, resolution, RTT and loss per connection since the previous call ('local' = what we send). */
  async getStats(): Promise<Record<string, ConnectionStats>> {
    const sample = await this.#media.sampleStats();
    const stats = computeStats(this.#lastStats, sample);
    this.#lastStats = sample;
    return stats;
  }

  // ── join, publish, subscribe ─────────────────────────────────────────────────────────────

  #waitConnected(): Promise<void> {
    if (this.#signalling.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let lastError = '';
      const timer = setTimeout(() => {
        off();
        reject(
          new SignallingError(
            'connect',
            'unreachable',
            `server unreachable${lastError ? ` (${lastError})` : ''}`,
          ),
        );
      }, this.#connectTimeoutMs);
      const off = this.#signalling.onStatus((status) => {
        if (status.type === 'connected') {
          clearTimeout(timer);
          off();
          resolve();
        } else if (status.type === 'connect_error') {
          lastError = status.message;
          // A refused token will not get better by waiting.
          if (/token|authori[sz]ation/i.test(status.message)) {
            clearTimeout(timer);
            off();
            reject(new SignallingError('connect', 'unauthenticated', status.message));
          }
        }
      });
      this.#signalling.open();
    });
  }

  async #publish(): Promise<void> {
    const room = this.#requireRoom();
    const local = this.#requireLocal();
    const tracks = this.#media.localTracks();
    const total = Number(tracks.audio) + Number(tracks.video) + Number(this.#screenTrackId !== null);
    if (total === 0) {
      // Nothing to send: attach this socket to the participant so that we receive the room's events
      // and may subscribe (the server's room.reconnect does exactly that).
      await this.#signalling.request('room.reconnect', {
        roomId: String(room.id),
        participantId: local.id,
      });
      return;
    }
    this.#publisherEpoch++;
    const offer = await this.#media.createPublisherOffer(this.#publishOptions);
    const backupSections = this.#media.backupSections?.() ?? [];
    const reply = await this.#signalling.request<{ sdp: string }>('room.publish', {
      sdp: offer,
      roomId: String(room.id),
      participantId: local.id,
      isVideoEnabled: tracks.video && local.state.videoEnabled,
      isAudioEnabled: tracks.audio && local.state.audioEnabled,
      isE2eeEnabled: false,
      totalTracks: total,
      connectionType: SFU,
      // Only with a backup: the payload stays what Waterbus clients send otherwise.
      ...(backupSections.length > 0 ? { backupSections } : {}),
    });
    await this.#media.applyPublisherAnswer(reply.sdp);
    // The server starts every publisher with hand down and no screen: say so again if needed.
    if (this.#screenTrackId) {
      await this.#signalling.request('room.screen_sharing', {
        isSharing: true,
        screenTrackId: this.#screenTrackId,
      });
    }
    if (local.state.handRaising) await this.#signalling.request('room.hand_raising', { isRaising: true });
  }

  /** Publisher offers go one at a time (a screen share during an ICE restart waits for its answer). */
  #renegotiatePublisher(options: { iceRestart?: boolean } = {}): Promise<void> {
    const next = this.#publisherNegotiation
      .catch(() => undefined)
      .then(async () => {
        const room = this.#requireRoom();
        const epoch = this.#publisherEpoch;
        const offer = await this.#media.renegotiatePublisher(options);
        const reply = await this.#signalling.request<{ sdp: string }>('room.publisher_renegotiation', {
          sdp: offer,
          roomId: String(room.id),
          connectionType: SFU,
        });
        // Published again meanwhile (the fallback): the answer is for a closed connection.
        if (epoch !== this.#publisherEpoch) return;
        await this.#media.applyPublisherAnswer(reply.sdp);
      });
    this.#publisherNegotiation = next;
    return next;
  }

  #addParticipant(json: ParticipantJson): void {
    const id = String(json.id);
    if (id === this.#local?.id) return;
    let participant = this.#participants.get(id);
    if (!participant) {
      participant = {
        id,
        userId: json.userId,
        name: json.user?.fullName ?? json.user?.userName ?? `Participant ${id}`,
        isLocal: false,
        state: defaultMediaState(),
      };
      this.#participants.set(id, participant);
      this.emit('participantJoined', participant);
      if (this.#autoSubscribe) this.#wanted.add(id);
    }
    if (this.#wanted.has(id)) void this.#subscribe(id);
  }

  #removeParticipant(id: string): void {
    this.#wanted.delete(id);
    this.#ice.clearSubscriber(id);
    this.#media.closeSubscriber(id);
    this.#subscribed.delete(id);
    this.#answers.delete(id);
    this.#tracks.drop(id);
    const participant = this.#participants.get(id);
    if (!participant) return;
    this.#participants.delete(id);
    this.emit('participantLeft', participant);
  }

  /** Subscribes to `targetId` (a fresh connection when there was one already). */
  async #subscribe(targetId: string): Promise<void> {
    const room = this.#requireRoom();
    const local = this.#requireLocal();
    if (this.#subscribed.has(targetId)) this.#dropSubscription(targetId);
    this.#subscribed.add(targetId);
    const generation = (this.#subscriptionGeneration.get(targetId) ?? 0) + 1;
    this.#subscriptionGeneration.set(targetId, generation);
    const current = () =>
      this.#subscribed.has(targetId) && this.#subscriptionGeneration.get(targetId) === generation;
    try {
      const reply = await this.#signalling.request<SubscribeReply>('room.subscribe', {
        targetId,
        roomId: String(room.id),
        participantId: local.id,
      });
      // Unsubscribed, or subscribed again (the target republished) while this one was in flight:
      // the server replaced this subscription, and its offer would be a connection to nowhere.
      if (!current()) return;
      const participant = this.#participants.get(targetId);
      if (participant) {
        Object.assign(participant.state, {
          videoEnabled: reply.videoEnabled,
          audioEnabled: reply.audioEnabled,
          screenSharing: reply.isScreenSharing,
          screenTrackId: reply.isScreenSharing ? reply.screenTrackId : null,
          handRaising: reply.isHandRaising,
          cameraType: reply.cameraType,
        } satisfies Partial<MediaState>);
        this.emit('mediaStateChanged', {
          participant,
          changed: ['videoEnabled', 'audioEnabled', 'screenSharing', 'screenTrackId', 'handRaising'],
        });
      }
      await this.#answerInTurn(targetId, reply.offer);
    } catch (err) {
      // A newer subscription closed this one's connection under it: that one goes on.
      if (!current()) return;
      this.#subscribed.delete(targetId);
      // The target left or stopped publishing meanwhile: its participant_left follows or came already.
      if (err instanceof SignallingError && err.code === 'not_found') return;
      if (this.#machine.is('joined')) this.#reportError(err, 'room.subscribe');
    }
  }

  #dropSubscription(targetId: string): void {
    this.#media.closeSubscriber(targetId);
    this.#answers.delete(targetId);
    this.#tracks.drop(targetId);
  }

  /** Offers for one target are answered one after the other (each answer needs the previous one applied). */
  #answerInTurn(targetId: string, offer: string): Promise<void> {
    const previous = this.#answers.get(targetId) ?? Promise.resolve();
    const generation = this.#subscriptionGeneration.get(targetId);
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const room = this.#requireRoom();
        const sdp = await this.#media.answerSubscriber(targetId, offer);
        // Subscribed again meanwhile: this answer belongs to a subscription the server replaced.
        if (this.#subscriptionGeneration.get(targetId) !== generation) return;
        await this.#signalling.request('room.answer_subscriber', {
          roomId: String(room.id),
          targetId,
          sdp,
          connectionType: SFU,
        });
      });
    this.#answers.set(targetId, next);
    return next;
  }

  // ── events from the server and the media layer ───────────────────────────────────────────

  #listen(): void {
    const s = this.#signalling;
    const on = (event: string, handler: (payload: never) => void) =>
      this.#offs.push(s.on(event, handler as (payload: unknown) => void));
    this.#offs.push(s.onStatus((status) => this.#onStatus(status)));
    on('room.new_participant', (msg: { participant: ParticipantJson }) => {
      if (!this.#machine.is('joined')) return;
      const id = String(msg.participant.id);
      // A participant that published again (reconnected) gets a fresh subscription.
      if (this.#participants.has(id)) {
        if (this.#wanted.has(id)) void this.#subscribe(id);
      } else this.#addParticipant(msg.participant);
    });
    on('room.participant_left', (msg: { targetId: string | number }) => {
      this.#removeParticipant(String(msg.targetId));
    });
    on('room.subscriber_renegotiation', (msg: { targetId: string | number; sdp: string }) => {
      const targetId = String(msg.targetId);
      if (!this.#subscribed.has(targetId)) return;
      this.#answerInTurn(targetId, msg.sdp).catch((err: unknown) =>
        this.#reportError(err, 'room.subscriber_renegotiation'),
      );
    });
    on('room.publisher_candidate', (msg: RTCIceCandidateInit) => {
      void this.#media.addPublisherCandidate(msg);
    });
    on('room.subscriber_candidate', (msg: { targetId: string | number; candidate: RTCIceCandidateInit }) => {
      void this.#media.addSubscriberCandidate(String(msg.targetId), msg.candidate);
    });
    on('room.video_enabled', (msg: { participantId: string | number; isEnabled: boolean }) =>
      this.#mediaToggled('video', msg),
    );
    on('room.audio_enabled', (msg: { participantId: string | number; isEnabled: boolean }) =>
      this.#mediaToggled('audio', msg),
    );
    on('room.hand_raising', (msg: { participantId: string | number; isRaising: boolean }) =>
      this.#remoteState(msg.participantId, { handRaising: msg.isRaising }),
    );
    on('room.camera_type', (msg: { participantId: string | number; type: number }) =>
      this.#remoteState(msg.participantId, { cameraType: msg.type }),
    );
    on(
      'room.screen_sharing',
      (msg: { participantId: string | number; isSharing: boolean; screenTrackId?: string | null }) =>
        this.#remoteState(msg.participantId, {
          screenSharing: msg.isSharing,
          screenTrackId: msg.isSharing ? (msg.screenTrackId ?? null) : null,
        }),
    );
    on(
      'room.active_speakers',
      (msg: { speakers?: Array<{ participantId: string | number; level: number }> }) => {
        const localId = this.#local?.id;
        this.#speakers = (msg.speakers ?? []).map((s) => ({
          participantId: String(s.participantId),
          level: s.level,
          isLocal: String(s.participantId) === localId,
        }));
        this.emit('activeSpeakersChanged', { speakers: this.#speakers });
      },
    );
    on(
      'room.connection_quality',
      (msg: { participantId: string | number; quality: ConnectionQuality; score?: number }) => {
        const participantId = String(msg.participantId);
        this.#quality.set(participantId, msg.quality);
        this.emit('connectionQualityChanged', {
          participantId,
          quality: msg.quality,
          ...(msg.score === undefined ? {} : { score: msg.score }),
          isLocal: participantId === this.#local?.id,
        });
      },
    );
    on('chat.send', (msg: MessageJson) => {
      if (this.#room && String(msg.roomId) === String(this.#room.id))
        this.emit('chat', this.#chatMessage(msg));
    });
    on('system.error', (msg: SystemError) => {
      if (isTrackUnsupported(msg)) {
        this.emit('trackUnsupported', {
          participantId: String(msg.targetId),
          trackId: msg.trackId,
          kind: msg.kind,
          codec: msg.codec,
          message: msg.message ?? `cannot decode ${msg.codec}`,
        });
        return;
      }
      // The server lost our media (its SFU node died, or our connection timed out) and asks us to
      // publish again: rejoin, which lands on a live node.
      if (msg.event === 'media' && msg.code === 'unavailable' && this.#machine.is('joined')) {
        this.emit('reconnecting', { reason: 'media' });
        this.#fallBackToRejoin();
        return;
      }
      this.emit('error', {
        code: msg.code ?? 'unknown',
        message: msg.message ?? 'server error',
        ...(msg.event ? { event: msg.event } : {}),
      });
    });
    this.#media.onRemoteTrack((e) => this.#onRemoteTrack(e));
    this.#media.onRemoteTrackEnded((e) => this.#tracks.ended(e));
    this.#media.onIceState((e) => this.#ice.onState(e));
  }

  // ── ICE: what the watchdog does to the publisher and the subscriptions ───────────────────

  #iceWatchdogRoom(): IceWatchdogRoom {
    return {
      joined: () => this.#machine.is('joined'),
      signallingUp: () => this.#signalling.connected,
      isSubscribed: (targetId) => this.#subscribed.has(targetId),
      restartPublisherIce: () => this.#renegotiatePublisher({ iceRestart: true }),
      fallBackToRejoin: () => this.#fallBackToRejoin(),
      // The server is the subscriber connection's offerer: a fresh subscription restarts it.
      resubscribe: (targetId) => {
        if (this.#machine.is('joined') && this.#signalling.connected && this.#subscribed.has(targetId))
          void this.#subscribe(targetId);
      },
      restartStarted: () => this.emit('reconnecting', { reason: 'ice' }),
      restartSucceeded: () =>
        this.emit('reconnected', {
          participantId: this.#requireLocal().id,
          rejoined: false,
          iceRestart: true,
        }),
    };
  }

  /** The ICE restart did not bring media back: publish again and resubscribe, as after a socket drop. */
  #fallBackToRejoin(): void {
    this.#ice.endRestart();
    if (!this.#machine.is('joined') || !this.#signalling.connected) return;
    this.#machine.to('reconnecting');
    this.#closeMedia();
    this.#reconnectTimer = setTimeout(() => this.#giveUp(), this.#reconnectTimeoutMs);
    this.#resuming ??= this.#resume().finally(() => {
      this.#resuming = null;
    });
  }

  #onRemoteTrack(e: RemoteTrackEvent): void {
    const participant = this.#participants.get(e.targetId);
    if (!participant) return;
    const record = this.#tracks.add(participant, e);
    if (!record) return;
    const preferred = this.#preferred.get(e.targetId);
    if (preferred !== undefined && record.kind === 'video' && record.source === 'camera')
      this.#media.setPreferredQuality(e.targetId, e.track.id, preferred);
    this.emit('trackAdded', record);
  }

  /**
   * A media-state event: another participant's toggle, or (naming the local participant) an
   * operator's mute (docs/admin.md), which the local track and state follow without telling the
   * server back.
   */
  #mediaToggled(kind: 'audio' | 'video', msg: { participantId: string | number; isEnabled: boolean }): void {
    const key = kind === 'audio' ? 'audioEnabled' : 'videoEnabled';
    const local = this.#local;
    if (!local || String(msg.participantId) !== local.id) {
      this.#remoteState(msg.participantId, { [key]: msg.isEnabled });
      return;
    }
    // Why only off: the server never turns a participant's media on for it.
    if (msg.isEnabled || !local.state[key]) return;
    local.state[key] = false;
    this.#media.setTrackEnabled(kind, false);
    this.emit('mediaStateChanged', { participant: local, changed: [key] });
  }

  #remoteState(participantId: string | number, change: Partial<MediaState>): void {
    const participant = this.#participants.get(String(participantId));
    if (!participant) return;
    Object.assign(participant.state, change);
    this.emit('mediaStateChanged', {
      participant,
      changed: Object.keys(change) as Array<keyof MediaState>,
    });
    if ('screenSharing' in change) this.#tracks.reclassify(participant);
  }

  #onStatus(status: ChannelStatus): void {
    if (status.type === 'disconnected' && this.#machine.is('joined')) {
      this.#machine.to('reconnecting');
      const restarting = this.#ice.restarting;
      // The server closed our media when the socket dropped; the tracks we received are gone.
      this.#closeMedia();
      if (!restarting) this.emit('reconnecting', { reason: status.reason });
      this.#reconnectTimer = setTimeout(() => this.#giveUp(), this.#reconnectTimeoutMs);
    } else if (status.type === 'connected' && this.#machine.is('reconnecting')) {
      this.#resuming ??= this.#resume().finally(() => {
        this.#resuming = null;
      });
    }
  }

  /** Closes the publisher and every subscription (the room's participants stay). */
  #closeMedia(): void {
    this.#ice.clear();
    this.#publisherEpoch++;
    this.#media.closePublisher();
    for (const id of [...this.#subscribed]) this.#dropSubscription(id);
    this.#subscribed.clear();
  }

  /** Back on a new socket: take the participant back (or join again), publish, resubscribe. */
  async #resume(): Promise<void> {
    const room = this.#requireRoom();
    const local = this.#requireLocal();
    let rejoined = false;
    try {
      try {
        await this.#signalling.request('room.reconnect', {
          roomId: String(room.id),
          participantId: local.id,
        });
      } catch (err) {
        if (!(err instanceof SignallingError) || err.code === 'timeout') throw err;
        // The participant is gone (grace period over) or refused: join again as a new participant.
        const joined = await this.#api.joinRoom(room.id, this.#password);
        const mine = [...joined.participants].reverse().find((p) => p.userId === local.userId);
        if (!mine) throw new Error('bbmeet: the join reply does not hold our participant');
        local.id = String(mine.id);
        rejoined = true;
      }
      await this.#publish();
      if (!this.#machine.is('reconnecting')) return;
      const current = await this.#api.roomByCode(room.code ?? String(room.id)).catch(() => null);
      this.#clearReconnectTimer();
      this.#machine.to('joined');
      const present = new Set(current?.participants.map((p) => String(p.id)) ?? this.#participants.keys());
      for (const id of [...this.#participants.keys()]) if (!present.has(id)) this.#removeParticipant(id);
      for (const p of current?.participants ?? []) {
        if (String(p.id) === local.id || p.status === 1) continue;
        if (!this.#participants.has(String(p.id))) this.#addParticipant(p);
      }
      for (const id of this.#participants.keys())
        if (this.#wanted.has(id) && !this.#subscribed.has(id)) void this.#subscribe(id);
      this.emit('reconnected', { participantId: local.id, rejoined });
    } catch (err) {
      // Dropped again while resuming: the next `connected` tries again. Anything else is fatal.
      if (err instanceof SignallingError && err.code === 'timeout') return;
      if (!this.#signalling.connected) return;
      this.#reportError(err, 'room.reconnect');
      this.#teardown();
      this.#machine.tryTo('left');
    }
  }

  #giveUp(): void {
    if (!this.#machine.is('reconnecting')) return;
    this.emit('error', {
      code: 'unavailable',
      message: 'the connection did not come back',
      event: 'reconnect',
    });
    this.#teardown();
    this.#machine.tryTo('left');
  }

  #clearReconnectTimer(): void {
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
  }

  // ── local state ──────────────────────────────────────────────────────────────────────────

  async #setLocalState(kind: 'audio' | 'video', enabled: boolean): Promise<void> {
    const local = this.#requireLocal();
    const key = kind === 'audio' ? 'audioEnabled' : 'videoEnabled';
    local.state[key] = enabled;
    this.#media.setTrackEnabled(kind, enabled);
    this.emit('mediaStateChanged', { participant: local, changed: [key] });
    if (this.#machine.is('joined')) {
      await this.#signalling.request(kind === 'audio' ? 'room.audio_enabled' : 'room.video_enabled', {
        isEnabled: enabled,
      });
    }
  }

  #chatMessage(m: MessageJson): ChatMessage {
    return {
      id: m.id,
      text: m.data,
      senderUserId: m.createdById,
      senderName: m.createdBy?.fullName ?? m.createdBy?.userName ?? `User ${m.createdById}`,
      createdAt: m.createdAt,
      isLocal: m.createdById === this.#local?.userId,
    };
  }

  #reportError(err: unknown, event: string): void {
    const code = err instanceof SignallingError ? err.code : 'internal';
    const message = err instanceof Error ? err.message : String(err);
    this.emit('error', { code, message, event });
  }

  #requireRoom(): RoomJson {
    if (!this.#room) throw new Error('bbmeet: not in a room');
    return this.#room;
  }

  #requireLocal(): Participant {
    if (!this.#local) throw new Error('bbmeet: join a room first');
    return this.#local;
  }

  #teardown(): void {
    this.#clearReconnectTimer();
    this.#ice.clear();
    this.#wanted.clear();
    for (const off of this.#offs.splice(0)) off();
    this.#media.close();
    this.#subscribed.clear();
    this.#subscriptionGeneration.clear();
    this.#answers.clear();
    this.#tracks.clear();
    this.#participants.clear();
  }
}

const QUALITY_VALUE: Record<PreferredQuality, 0 | 1 | 2 | 3> = { off: 0, low: 1, medium: 2, high: 3 };

/** A `system.error` from the server: `event` names what failed; some carry more fields. */
interface SystemError {
  event?: string;
  code?: string;
  message?: string;
  targetId?: unknown;
  trackId?: unknown;
  kind?: unknown;
  codec?: unknown;
}

/** The server's word that our answer refused a track of `targetId` (a codec we cannot decode). */
function isTrackUnsupported(msg: SystemError): msg is SystemError & {
  targetId: string | number;
  trackId: string;
  kind: 'audio' | 'video';
  codec: string;
} {
  return (
    msg.event === 'room.answer_subscriber' &&
    msg.code === 'unsupported' &&
    (typeof msg.targetId === 'string' || typeof msg.targetId === 'number') &&
    typeof msg.trackId === 'string' &&
    (msg.kind === 'audio' || msg.kind === 'video') &&
    typeof msg.codec === 'string'
  );
}
