import { toChatMessage } from './chat.ts';
import type { IceWatchdog } from './ice-watchdog.ts';
import type { MediaStates } from './media-state.ts';
import type { Reconnection } from './reconnection.ts';
import type { RoomContext } from './room-context.ts';
import type { Subscriptions } from './subscriptions.ts';
import type { ActiveSpeaker, ConnectionQuality, MessageJson, ParticipantJson } from './types.ts';

/** The Room's parts that server and media events go to. */
export interface ServerEventsRoom {
  readonly subscriptions: Subscriptions;
  readonly states: MediaStates;
  readonly reconnection: Reconnection;
  readonly ice: IceWatchdog;
}

type Handler = (payload: never) => void;
type Toggle = { participantId: string | number; isEnabled: boolean };
type Speakers = { speakers?: Array<{ participantId: string | number; level: number }> };
type Quality = { participantId: string | number; quality: ConnectionQuality; score?: number };
type ScreenSharing = { participantId: string | number; isSharing: boolean; screenTrackId?: string | null };

/**
 * The server's events of the room (participants, renegotiations, candidates, media states,
 * speakers, quality, chat, errors) and the media layer's (tracks, ICE states), each handed to the
 * part of the Room it concerns. Keeps what only these events tell: who speaks, each one's quality.
 */
export class ServerEvents {
  readonly #ctx: RoomContext;
  readonly #room: ServerEventsRoom;
  #speakers: ActiveSpeaker[] = [];
  readonly #quality = new Map<string, ConnectionQuality>();

  constructor(ctx: RoomContext, room: ServerEventsRoom) {
    this.#ctx = ctx;
    this.#room = room;
  }

  /** Who speaks now, loudest first (from the last `activeSpeakersChanged`). */
  get activeSpeakers(): readonly ActiveSpeaker[] {
    return this.#speakers;
  }

  connectionQuality(participantId: string): ConnectionQuality | undefined {
    return this.#quality.get(participantId);
  }

  /** Listens to the socket (the returned functions stop it) and to the media layer. */
  listen(): Array<() => void> {
    const { signalling, media } = this.#ctx;
    const { subscriptions, reconnection, ice } = this.#room;
    const offs = [signalling.onStatus((status) => reconnection.onStatus(status))];
    const on = (event: string, handler: Handler) =>
      offs.push(signalling.on(event, handler as (payload: unknown) => void));
    this.#participantEvents(on);
    this.#mediaStateEvents(on);
    on('room.active_speakers', (msg: Speakers) => this.#onSpeakers(msg));
    on('room.connection_quality', (msg: Quality) => this.#onQuality(msg));
    on('chat.send', (msg: MessageJson) => {
      const room = this.#ctx.room();
      if (room && String(msg.roomId) === String(room.id))
        this.#ctx.emit('chat', toChatMessage(msg, this.#ctx.local()?.userId));
    });
    on('system.error', (msg: SystemError) => this.#onSystemError(msg));
    media.onRemoteTrack((e) => subscriptions.onRemoteTrack(e));
    media.onRemoteTrackEnded((e) => subscriptions.onRemoteTrackEnded(e));
    media.onIceState((e) => ice.onState(e));
    return offs;
  }

  #participantEvents(on: (event: string, handler: Handler) => void): void {
    const { subscriptions } = this.#room;
    on('room.new_participant', (msg: { participant: ParticipantJson }) => {
      if (!this.#ctx.machine.is('joined')) return;
      const id = String(msg.participant.id);
      // A participant that published again (reconnected) gets a fresh subscription.
      if (this.#ctx.participants.has(id)) {
        if (subscriptions.isWanted(id)) void subscriptions.subscribe(id);
      } else subscriptions.addParticipant(msg.participant);
    });
    on('room.participant_left', (msg: { targetId: string | number }) => {
      subscriptions.removeParticipant(String(msg.targetId));
    });
    on('room.subscriber_renegotiation', (msg: { targetId: string | number; sdp: string }) => {
      subscriptions.onRenegotiation(String(msg.targetId), msg.sdp);
    });
    on('room.publisher_candidate', (msg: RTCIceCandidateInit) => {
      void this.#ctx.media.addPublisherCandidate(msg);
    });
    on('room.subscriber_candidate', (msg: { targetId: string | number; candidate: RTCIceCandidateInit }) => {
      void this.#ctx.media.addSubscriberCandidate(String(msg.targetId), msg.candidate);
    });
  }

  #mediaStateEvents(on: (event: string, handler: Handler) => void): void {
    const { states } = this.#room;
    on('room.video_enabled', (msg: Toggle) => states.onToggled('video', msg));
    on('room.audio_enabled', (msg: Toggle) => states.onToggled('audio', msg));
    on('room.hand_raising', (msg: { participantId: string | number; isRaising: boolean }) =>
      states.onRemote(msg.participantId, { handRaising: msg.isRaising }),
    );
    on('room.camera_type', (msg: { participantId: string | number; type: number }) =>
      states.onRemote(msg.participantId, { cameraType: msg.type }),
    );
    on('room.screen_sharing', (msg: ScreenSharing) =>
      states.onRemote(msg.participantId, {
        screenSharing: msg.isSharing,
        screenTrackId: msg.isSharing ? (msg.screenTrackId ?? null) : null,
      }),
    );
  }

  #onSpeakers(msg: Speakers): void {
    const localId = this.#ctx.local()?.id;
    this.#speakers = (msg.speakers ?? []).map((s) => ({
      participantId: String(s.participantId),
      level: s.level,
      isLocal: String(s.participantId) === localId,
    }));
    this.#ctx.emit('activeSpeakersChanged', { speakers: this.#speakers });
  }

  #onQuality(msg: Quality): void {
    const participantId = String(msg.participantId);
    this.#quality.set(participantId, msg.quality);
    this.#ctx.emit('connectionQualityChanged', {
      participantId,
      quality: msg.quality,
      ...(msg.score === undefined ? {} : { score: msg.score }),
      isLocal: participantId === this.#ctx.local()?.id,
    });
  }

  #onSystemError(msg: SystemError): void {
    if (isTrackUnsupported(msg)) {
      this.#ctx.emit('trackUnsupported', {
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
    if (msg.event === 'media' && msg.code === 'unavailable' && this.#ctx.machine.is('joined')) {
      this.#ctx.emit('reconnecting', { reason: 'media' });
      this.#room.reconnection.fallBackToRejoin();
      return;
    }
    this.#ctx.emit('error', {
      code: msg.code ?? 'unknown',
      message: msg.message ?? 'server error',
      ...(msg.event ? { event: msg.event } : {}),
    });
  }
}

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
