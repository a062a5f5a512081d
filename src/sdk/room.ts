import { toChatMessage } from './chat.ts';
import { Emitter } from './emitter.ts';
import { IceWatchdog, type IceWatchdogRoom } from './ice-watchdog.ts';
import type { MediaController, PublishOptions } from './media.ts';
import { MediaStates } from './media-state.ts';
import { PublisherNegotiation } from './publisher-negotiation.ts';
import { Reconnection } from './reconnection.ts';
import type { RoomApi } from './rest.ts';
import type { RoomContext } from './room-context.ts';
import { ServerEvents } from './server-events.ts';
import { type SignallingChannel, waitConnected } from './signalling.ts';
import { StateMachine } from './state.ts';
import { type ConnectionStats, computeStats } from './stats.ts';
import { Subscriptions } from './subscriptions.ts';
import {
  type ActiveSpeaker,
  type ChatMessage,
  type ConnectionQuality,
  defaultMediaState,
  type Participant,
  type PreferredQuality,
  type RoomEvents,
  type RoomJson,
  type RoomState,
  type TrackInfo,
} from './types.ts';

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
 *
 * The Room is the facade; its parts share one `RoomContext`: `PublisherNegotiation` (our offers),
 * `Subscriptions` (the others and whom we receive), `MediaStates` (mutes, hand, screen),
 * `Reconnection` (drops and rejoins), `IceWatchdog` (ICE restarts), `ServerEvents` (the socket's
 * and the media layer's events).
 */
export class Room extends Emitter<RoomEvents> {
  readonly #ctx: RoomContext;
  readonly #connectTimeoutMs: number;
  readonly #machine: StateMachine;
  readonly #participants = new Map<string, Participant>();
  readonly #ice: IceWatchdog;
  readonly #publisher: PublisherNegotiation;
  readonly #subscriptions: Subscriptions;
  readonly #states: MediaStates;
  readonly #reconnection: Reconnection;
  readonly #events: ServerEvents;
  readonly #offs: Array<() => void> = [];
  #room: RoomJson | null = null;
  #password: string | undefined;
  #local: Participant | null = null;
  #lastStats: Awaited<ReturnType<MediaController['sampleStats']>> | null = null;

  constructor(options: RoomOptions) {
    super();
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#machine = new StateMachine((state, previous) => this.emit('stateChanged', { state, previous }));
    const ctx = this.#context(options);
    this.#ctx = ctx;
    this.#ice = new IceWatchdog(this.#iceWatchdogRoom(), {
      disconnectedMs: options.iceDisconnectedMs ?? 2_000,
      restartTimeoutMs: options.iceRestartTimeoutMs ?? 10_000,
    });
    const publish: PublishOptions = { simulcast: true, codec: 'VP8', backupCodec: true, ...options.publish };
    this.#publisher = new PublisherNegotiation(ctx, publish, () => this.#states.screenTrackId);
    this.#subscriptions = new Subscriptions(ctx, this.#ice);
    this.#states = new MediaStates(ctx, {
      renegotiatePublisher: () => this.#publisher.renegotiate(),
      reclassify: (participant) => this.#subscriptions.reclassify(participant),
    });
    this.#reconnection = new Reconnection(
      ctx,
      this.#reconnectionRoom(),
      options.reconnectTimeoutMs ?? 60_000,
    );
    this.#events = new ServerEvents(ctx, {
      subscriptions: this.#subscriptions,
      states: this.#states,
      reconnection: this.#reconnection,
      ice: this.#ice,
    });
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
    return this.#ctx.media.screenStream();
  }

  /** Who speaks now, loudest first (from the last `activeSpeakersChanged`). */
  get activeSpeakers(): readonly ActiveSpeaker[] {
    return this.#events.activeSpeakers;
  }

  /** A participant's (or our own) last known connection quality. */
  connectionQuality(participantId: string): ConnectionQuality | undefined {
    return this.#events.connectionQuality(participantId);
  }

  /**
   * The video quality we want of a participant's camera: 'off' pauses it, 'low'/'medium'/'high'
   * pick the simulcast layer (Waterbus `track_quality` 0–3, on that participant's subscriber
   * connection). Kept for later tracks and resubscriptions.
   */
  setPreferredQuality(participantId: string, quality: PreferredQuality): void {
    this.#subscriptions.setPreferredQuality(participantId, quality);
  }

  /**
   * Starts receiving a participant (needed with `autoSubscribe: false`; a no-op when already
   * subscribed). Kept across reconnections until `unsubscribe`.
   */
  async subscribe(participantId: string): Promise<void> {
    await this.#subscriptions.want(participantId);
  }

  /** Stops receiving a participant: its subscriber connection is closed and its tracks removed. */
  unsubscribe(participantId: string): void {
    this.#subscriptions.unwant(participantId);
  }

  /** Whether we receive (or are about to receive) a participant. */
  isSubscribed(participantId: string): boolean {
    return this.#subscriptions.isSubscribed(participantId);
  }

  tracksOf(participantId: string): readonly TrackInfo[] {
    return this.#subscriptions.tracksOf(participantId);
  }

  async join(options: JoinOptions = {}): Promise<void> {
    this.#machine.to('connecting');
    this.#subscriptions.autoSubscribe = options.autoSubscribe ?? true;
    this.#offs.push(...this.#events.listen());
    try {
      await waitConnected(this.#ctx.signalling, this.#connectTimeoutMs);
      const { api, media } = this.#ctx;
      const room = options.roomId
        ? { id: options.roomId }
        : options.code
          ? await api.roomByCode(options.code)
          : await api.createRoom(options.title ?? 'Meeting', options.password);
      this.#password = options.password;
      const [me, joined] = await Promise.all([api.me(), api.joinRoom(room.id, options.password)]);
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
      media.setTrackEnabled('audio', state.audioEnabled);
      media.setTrackEnabled('video', state.videoEnabled);
      await this.#publisher.publish();
      this.#machine.to('joined');
      for (const p of joined.participants) if (p.id !== mine.id) this.#subscriptions.addParticipant(p);
    } catch (err) {
      this.#teardown();
      this.#machine.tryTo('left');
      throw err;
    }
  }

  async leave(): Promise<void> {
    if (this.#machine.is('left')) return;
    const { signalling } = this.#ctx;
    if (this.#machine.is('joined', 'reconnecting') && signalling.connected && this.#room) {
      await signalling.request('room.leave', { roomId: String(this.#room.id) }, 3000).catch(() => {});
    }
    this.#teardown();
    this.#machine.tryTo('left');
  }

  async setMicrophoneEnabled(enabled: boolean): Promise<void> {
    await this.#states.setLocal('audio', enabled);
  }

  async setCameraEnabled(enabled: boolean): Promise<void> {
    await this.#states.setLocal('video', enabled);
  }

  async raiseHand(raised: boolean): Promise<void> {
    await this.#states.raiseHand(raised);
  }

  /** Shares the screen (the browser asks which one); resolves once the others are offered it. */
  async startScreenShare(): Promise<void> {
    await this.#states.startScreenShare();
  }

  async stopScreenShare(): Promise<void> {
    await this.#states.stopScreenShare();
  }

  /** Sends a chat message (REST); it comes back to everyone, us included, as a `chat` event. */
  async sendChat(text: string): Promise<ChatMessage> {
    const room = this.#room;
    if (!room) throw new Error('bbmeet: not in a room');
    return toChatMessage(await this.#ctx.api.sendChat(room.id, text), this.#local?.userId);
  }

  /** The latest messages of the room, oldest first. */
  async chatHistory(limit = 50): Promise<ChatMessage[]> {
    const room = this.#room;
    if (!room) return [];
    const messages = await this.#ctx.api.listChat(room.id, limit);
    return messages.reverse().map((m) => toChatMessage(m, this.#local?.userId));
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
    const reply = await this.#ctx.signalling.request<{ hlsUrls?: unknown }>(
      'room.subscribe_hls_live_stream',
      {
        targetId,
        roomId: String(room.id),
        participantId: local.id,
      },
    );
    const urls = reply.hlsUrls;
    if (!Array.isArray(urls)) throw new Error('bbmeet: the HLS reply has no hlsUrls');
    return urls.map(String);
  }

  /** Bitrate, resolution, RTT and loss per connection since the previous call ('local' = what we send). */
  async getStats(): Promise<Record<string, ConnectionStats>> {
    const sample = await this.#ctx.media.sampleStats();
    const stats = computeStats(this.#lastStats, sample);
    this.#lastStats = sample;
    return stats;
  }

  // ── wiring of the parts ──────────────────────────────────────────────────────────────────

  #context(options: RoomOptions): RoomContext {
    return {
      signalling: options.signalling,
      api: options.api,
      media: options.media,
      machine: this.#machine,
      participants: this.#participants,
      emit: (event, payload) => this.emit(event, payload),
      local: () => this.#local,
      room: () => this.#room,
      requireRoom: () => {
        if (!this.#room) throw new Error('bbmeet: not in a room');
        return this.#room;
      },
      requireLocal: () => {
        if (!this.#local) throw new Error('bbmeet: join a room first');
        return this.#local;
      },
    };
  }

  /** What the ICE watchdog does to the publisher and the subscriptions. */
  #iceWatchdogRoom(): IceWatchdogRoom {
    const { machine, signalling } = this.#ctx;
    return {
      joined: () => machine.is('joined'),
      signallingUp: () => signalling.connected,
      isSubscribed: (targetId) => this.#subscriptions.isSubscribed(targetId),
      restartPublisherIce: () => this.#publisher.renegotiate({ iceRestart: true }),
      fallBackToRejoin: () => this.#reconnection.fallBackToRejoin(),
      // The server is the subscriber connection's offerer: a fresh subscription restarts it.
      resubscribe: (targetId) => {
        if (machine.is('joined') && signalling.connected && this.#subscriptions.isSubscribed(targetId))
          void this.#subscriptions.subscribe(targetId);
      },
      restartStarted: () => this.emit('reconnecting', { reason: 'ice' }),
      restartSucceeded: () =>
        this.emit('reconnected', {
          participantId: this.#ctx.requireLocal().id,
          rejoined: false,
          iceRestart: true,
        }),
    };
  }

  #reconnectionRoom(): ConstructorParameters<typeof Reconnection>[1] {
    return {
      ice: this.#ice,
      subscriptions: this.#subscriptions,
      password: () => this.#password,
      publish: () => this.#publisher.publish(),
      closeMedia: () => {
        this.#ice.clear();
        this.#publisher.close();
        this.#subscriptions.closeAll();
      },
      teardown: () => this.#teardown(),
    };
  }

  #teardown(): void {
    this.#reconnection.clearTimer();
    this.#ice.clear();
    this.#subscriptions.clearWanted();
    for (const off of this.#offs.splice(0)) off();
    this.#ctx.media.close();
    this.#subscriptions.clear();
    this.#participants.clear();
  }
}
