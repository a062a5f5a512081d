import type { IceWatchdog } from './ice-watchdog.ts';
import type { RemoteTrackEvent } from './media.ts';
import { RemoteTracks } from './remote-tracks.ts';
import { type RoomContext, reportError, SFU } from './room-context.ts';
import { SignallingError } from './signalling.ts';
import {
  defaultMediaState,
  type MediaState,
  type Participant,
  type ParticipantJson,
  type PreferredQuality,
  type SubscribeReply,
  type TrackInfo,
} from './types.ts';

const QUALITY_VALUE: Record<PreferredQuality, 0 | 1 | 2 | 3> = { off: 0, low: 1, medium: 2, high: 3 };

/**
 * The other participants and whom we receive: `room.subscribe` for each wanted participant (ack:
 * the server's offer) answered with `room.answer_subscriber`, `room.subscriber_renegotiation`
 * answered the same way, the tracks that arrive, and the quality wished of each camera.
 */
export class Subscriptions {
  readonly #ctx: RoomContext;
  readonly #ice: IceWatchdog;
  readonly #tracks: RemoteTracks;
  readonly #answers = new Map<string, Promise<void>>();
  readonly #subscribed = new Set<string>();
  /**
   * Each subscription to a target gets the next number: a reply (or an answer being made) for an
   * older one is dropped, since the server replaced that subscription with the newer one.
   */
  readonly #generation = new Map<string, number>();
  /** Whom we want to receive: everyone with autoSubscribe, else those passed to subscribe(). */
  readonly #wanted = new Set<string>();
  /** setPreferredQuality wishes by participant, kept across resubscriptions. */
  readonly #preferred = new Map<string, 0 | 1 | 2 | 3>();
  autoSubscribe = true;

  constructor(ctx: RoomContext, ice: IceWatchdog) {
    this.#ctx = ctx;
    this.#ice = ice;
    this.#tracks = new RemoteTracks({
      added: (track) => ctx.emit('trackAdded', track),
      removed: (track) => ctx.emit('trackRemoved', track),
    });
  }

  /** Room.setPreferredQuality: applied to the camera now and to later tracks. */
  setPreferredQuality(participantId: string, quality: PreferredQuality): void {
    const value = QUALITY_VALUE[quality];
    this.#preferred.set(participantId, value);
    for (const t of this.#tracks.of(participantId))
      if (t.kind === 'video' && t.source === 'camera')
        this.#ctx.media.setPreferredQuality(participantId, t.track.id, value);
  }

  /** Room.subscribe: wanted from now on; subscribed now unless already, or while reconnecting. */
  async want(participantId: string): Promise<void> {
    const { machine, participants } = this.#ctx;
    if (!machine.is('joined', 'reconnecting')) throw new Error('bbmeet: join a room first');
    if (!participants.has(participantId))
      throw new Error(`bbmeet: no participant ${participantId} in the room`);
    this.#wanted.add(participantId);
    if (this.#subscribed.has(participantId) || !machine.is('joined')) return;
    await this.subscribe(participantId);
  }

  /** Room.unsubscribe: its subscriber connection is closed and its tracks removed. */
  unwant(participantId: string): void {
    this.#wanted.delete(participantId);
    this.#ice.clearSubscriber(participantId);
    if (!this.#subscribed.delete(participantId)) return;
    this.#drop(participantId);
  }

  isSubscribed(participantId: string): boolean {
    return this.#subscribed.has(participantId);
  }

  isWanted(participantId: string): boolean {
    return this.#wanted.has(participantId);
  }

  tracksOf(participantId: string): readonly TrackInfo[] {
    return this.#tracks.of(participantId);
  }

  /** A participant is in the room (again): known from now on, and received when wanted. */
  addParticipant(json: ParticipantJson): void {
    const id = String(json.id);
    if (id === this.#ctx.local()?.id) return;
    let participant = this.#ctx.participants.get(id);
    if (!participant) {
      participant = {
        id,
        userId: json.userId,
        name: json.user?.fullName ?? json.user?.userName ?? `Participant ${id}`,
        isLocal: false,
        state: defaultMediaState(),
      };
      this.#ctx.participants.set(id, participant);
      this.#ctx.emit('participantJoined', participant);
      if (this.autoSubscribe) this.#wanted.add(id);
    }
    if (this.#wanted.has(id)) void this.subscribe(id);
  }

  removeParticipant(id: string): void {
    this.#wanted.delete(id);
    this.#ice.clearSubscriber(id);
    this.#ctx.media.closeSubscriber(id);
    this.#subscribed.delete(id);
    this.#answers.delete(id);
    this.#tracks.drop(id);
    const participant = this.#ctx.participants.get(id);
    if (!participant) return;
    this.#ctx.participants.delete(id);
    this.#ctx.emit('participantLeft', participant);
  }

  /** Subscribes to `targetId` (a fresh connection when there was one already). */
  async subscribe(targetId: string): Promise<void> {
    const room = this.#ctx.requireRoom();
    const local = this.#ctx.requireLocal();
    if (this.#subscribed.has(targetId)) this.#drop(targetId);
    this.#subscribed.add(targetId);
    const generation = (this.#generation.get(targetId) ?? 0) + 1;
    this.#generation.set(targetId, generation);
    const current = () => this.#subscribed.has(targetId) && this.#generation.get(targetId) === generation;
    try {
      const reply = await this.#ctx.signalling.request<SubscribeReply>('room.subscribe', {
        targetId,
        roomId: String(room.id),
        participantId: local.id,
      });
      // Unsubscribed, or subscribed again (the target republished) while this one was in flight:
      // the server replaced this subscription, and its offer would be a connection to nowhere.
      if (!current()) return;
      this.#applyReply(targetId, reply);
      await this.#answerInTurn(targetId, reply.offer);
    } catch (err) {
      // A newer subscription closed this one's connection under it: that one goes on.
      if (!current()) return;
      this.#subscribed.delete(targetId);
      // The target left or stopped publishing meanwhile: its participant_left follows or came already.
      if (err instanceof SignallingError && err.code === 'not_found') return;
      if (this.#ctx.machine.is('joined')) reportError(this.#ctx, err, 'room.subscribe');
    }
  }

  /** `room.subscriber_renegotiation`: the server offers a change of a subscription of ours. */
  onRenegotiation(targetId: string, sdp: string): void {
    if (!this.#subscribed.has(targetId)) return;
    this.#answerInTurn(targetId, sdp).catch((err: unknown) =>
      reportError(this.#ctx, err, 'room.subscriber_renegotiation'),
    );
  }

  onRemoteTrack(e: RemoteTrackEvent): void {
    const participant = this.#ctx.participants.get(e.targetId);
    if (!participant) return;
    const record = this.#tracks.add(participant, e);
    if (!record) return;
    const preferred = this.#preferred.get(e.targetId);
    if (preferred !== undefined && record.kind === 'video' && record.source === 'camera')
      this.#ctx.media.setPreferredQuality(e.targetId, e.track.id, preferred);
    this.#ctx.emit('trackAdded', record);
  }

  onRemoteTrackEnded(e: RemoteTrackEvent): void {
    this.#tracks.ended(e);
  }

  /** The participant started or stopped sharing its screen: its tracks are classified again. */
  reclassify(participant: Participant): void {
    this.#tracks.reclassify(participant);
  }

  /** Closes every subscription (the media is gone); whom we want stays. */
  closeAll(): void {
    for (const id of [...this.#subscribed]) this.#drop(id);
    this.#subscribed.clear();
  }

  /** After a reconnection: subscribes again to each wanted participant not received. */
  resubscribeWanted(): void {
    for (const id of this.#ctx.participants.keys())
      if (this.#wanted.has(id) && !this.#subscribed.has(id)) void this.subscribe(id);
  }

  clearWanted(): void {
    this.#wanted.clear();
  }

  /** The room is left: everything is forgotten. */
  clear(): void {
    this.#subscribed.clear();
    this.#generation.clear();
    this.#answers.clear();
    this.#tracks.clear();
  }

  /** The subscribe reply carries the target's media state. */
  #applyReply(targetId: string, reply: SubscribeReply): void {
    const participant = this.#ctx.participants.get(targetId);
    if (!participant) return;
    Object.assign(participant.state, {
      videoEnabled: reply.videoEnabled,
      audioEnabled: reply.audioEnabled,
      screenSharing: reply.isScreenSharing,
      screenTrackId: reply.isScreenSharing ? reply.screenTrackId : null,
      handRaising: reply.isHandRaising,
      cameraType: reply.cameraType,
    } satisfies Partial<MediaState>);
    this.#ctx.emit('mediaStateChanged', {
      participant,
      changed: ['videoEnabled', 'audioEnabled', 'screenSharing', 'screenTrackId', 'handRaising'],
    });
  }

  #drop(targetId: string): void {
    this.#ctx.media.closeSubscriber(targetId);
    this.#answers.delete(targetId);
    this.#tracks.drop(targetId);
  }

  /** Offers for one target are answered one after the other (each answer needs the previous one applied). */
  #answerInTurn(targetId: string, offer: string): Promise<void> {
    const previous = this.#answers.get(targetId) ?? Promise.resolve();
    const generation = this.#generation.get(targetId);
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const room = this.#ctx.requireRoom();
        const sdp = await this.#ctx.media.answerSubscriber(targetId, offer);
        // Subscribed again meanwhile: this answer belongs to a subscription the server replaced.
        if (this.#generation.get(targetId) !== generation) return;
        await this.#ctx.signalling.request('room.answer_subscriber', {
          roomId: String(room.id),
          targetId,
          sdp,
          connectionType: SFU,
        });
      });
    this.#answers.set(targetId, next);
    return next;
  }
}
