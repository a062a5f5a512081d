import type { RoomContext } from './room-context.ts';
import type { MediaState, Participant } from './types.ts';

type Kind = 'audio' | 'video';

/** What the media states ask of the rest of the Room. */
export interface MediaStateRoom {
  /** Offers the publisher's new set of tracks (a screen added or removed). */
  renegotiatePublisher(): Promise<void>;
  /** A participant's screen sharing changed: its received tracks are classified again. */
  reclassify(participant: Participant): void;
}

/**
 * Who has what on: our microphone, camera, hand and screen (told to the server, `room.*_enabled`,
 * `room.hand_raising`, `room.screen_sharing`), the others' as the server reports them, and an
 * operator's mute of ours (docs/admin.md).
 */
export class MediaStates {
  readonly #ctx: RoomContext;
  readonly #room: MediaStateRoom;
  #screenTrackId: string | null = null;

  constructor(ctx: RoomContext, room: MediaStateRoom) {
    this.#ctx = ctx;
    this.#room = room;
  }

  /** The track id of the screen we share, while we do. */
  get screenTrackId(): string | null {
    return this.#screenTrackId;
  }

  async setLocal(kind: Kind, enabled: boolean): Promise<void> {
    const local = this.#ctx.requireLocal();
    const key = kind === 'audio' ? 'audioEnabled' : 'videoEnabled';
    local.state[key] = enabled;
    this.#ctx.media.setTrackEnabled(kind, enabled);
    this.#ctx.emit('mediaStateChanged', { participant: local, changed: [key] });
    if (this.#ctx.machine.is('joined')) {
      await this.#ctx.signalling.request(kind === 'audio' ? 'room.audio_enabled' : 'room.video_enabled', {
        isEnabled: enabled,
      });
    }
  }

  async raiseHand(raised: boolean): Promise<void> {
    const local = this.#ctx.requireLocal();
    local.state.handRaising = raised;
    this.#ctx.emit('mediaStateChanged', { participant: local, changed: ['handRaising'] });
    if (this.#ctx.machine.is('joined'))
      await this.#ctx.signalling.request('room.hand_raising', { isRaising: raised });
  }

  async startScreenShare(): Promise<void> {
    const local = this.#ctx.requireLocal();
    if (this.#screenTrackId) return;
    const trackId = await this.#ctx.media.startScreenShare(() => void this.stopScreenShare().catch(() => {}));
    this.#screenTrackId = trackId;
    local.state.screenSharing = true;
    local.state.screenTrackId = trackId;
    this.#ctx.emit('mediaStateChanged', { participant: local, changed: ['screenSharing', 'screenTrackId'] });
    if (!this.#ctx.machine.is('joined')) return;
    await this.#ctx.signalling.request('room.screen_sharing', { isSharing: true, screenTrackId: trackId });
    await this.#room.renegotiatePublisher();
  }

  async stopScreenShare(): Promise<void> {
    const local = this.#ctx.requireLocal();
    if (!this.#screenTrackId) return;
    this.#screenTrackId = null;
    this.#ctx.media.stopScreenShare();
    local.state.screenSharing = false;
    local.state.screenTrackId = null;
    this.#ctx.emit('mediaStateChanged', { participant: local, changed: ['screenSharing', 'screenTrackId'] });
    if (!this.#ctx.machine.is('joined')) return;
    await this.#ctx.signalling.request('room.screen_sharing', { isSharing: false });
    await this.#room.renegotiatePublisher();
  }

  /**
   * A media-state event: another participant's toggle, or (naming the local participant) an
   * operator's mute (docs/admin.md), which the local track and state follow without telling the
   * server back.
   */
  onToggled(kind: Kind, msg: { participantId: string | number; isEnabled: boolean }): void {
    const key = kind === 'audio' ? 'audioEnabled' : 'videoEnabled';
    const local = this.#ctx.local();
    if (!local || String(msg.participantId) !== local.id) {
      this.onRemote(msg.participantId, { [key]: msg.isEnabled });
      return;
    }
    // Why only off: the server never turns a participant's media on for it.
    if (msg.isEnabled || !local.state[key]) return;
    local.state[key] = false;
    this.#ctx.media.setTrackEnabled(kind, false);
    this.#ctx.emit('mediaStateChanged', { participant: local, changed: [key] });
  }

  /** Another participant's media state changed (hand, camera type, screen, a toggle). */
  onRemote(participantId: string | number, change: Partial<MediaState>): void {
    const participant = this.#ctx.participants.get(String(participantId));
    if (!participant) return;
    Object.assign(participant.state, change);
    this.#ctx.emit('mediaStateChanged', {
      participant,
      changed: Object.keys(change) as Array<keyof MediaState>,
    });
    if ('screenSharing' in change) this.#room.reclassify(participant);
  }
}
