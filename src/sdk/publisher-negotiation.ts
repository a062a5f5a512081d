import type { PublishOptions } from './media.ts';
import { type RoomContext, SFU } from './room-context.ts';

/**
 * Our publisher connection: `room.publish` with our offer (ack: the answer), then
 * `room.publisher_renegotiation` for each change (a screen share, an ICE restart), one offer at a
 * time. Closing it (a drop, the fallback to the full rejoin) makes late answers void.
 */
export class PublisherNegotiation {
  readonly #ctx: RoomContext;
  readonly #options: PublishOptions;
  /** The track id of the screen we share, if any (counted in `totalTracks`, announced again). */
  readonly #screenTrackId: () => string | null;
  #negotiation: Promise<void> = Promise.resolve();
  /** Counts publisher connections, so that a late renegotiation answer is not applied to a newer one. */
  #epoch = 0;

  constructor(ctx: RoomContext, options: PublishOptions, screenTrackId: () => string | null) {
    this.#ctx = ctx;
    this.#options = options;
    this.#screenTrackId = screenTrackId;
  }

  async publish(): Promise<void> {
    const { signalling, media } = this.#ctx;
    const room = this.#ctx.requireRoom();
    const local = this.#ctx.requireLocal();
    const tracks = media.localTracks();
    const total = Number(tracks.audio) + Number(tracks.video) + Number(this.#screenTrackId() !== null);
    if (total === 0) {
      // Nothing to send: attach this socket to the participant so that we receive the room's events
      // and may subscribe (the server's room.reconnect does exactly that).
      await signalling.request('room.reconnect', {
        roomId: String(room.id),
        participantId: local.id,
      });
      return;
    }
    this.#epoch++;
    const offer = await media.createPublisherOffer(this.#options);
    const backupSections = media.backupSections?.() ?? [];
    const reply = await signalling.request<{ sdp: string }>('room.publish', {
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
    await media.applyPublisherAnswer(reply.sdp);
    // The server starts every publisher with hand down and no screen: say so again if needed.
    const screenTrackId = this.#screenTrackId();
    if (screenTrackId) await signalling.request('room.screen_sharing', { isSharing: true, screenTrackId });
    if (local.state.handRaising) await signalling.request('room.hand_raising', { isRaising: true });
  }

  /** Publisher offers go one at a time (a screen share during an ICE restart waits for its answer). */
  renegotiate(options: { iceRestart?: boolean } = {}): Promise<void> {
    const next = this.#negotiation
      .catch(() => undefined)
      .then(async () => {
        const room = this.#ctx.requireRoom();
        const epoch = this.#epoch;
        const offer = await this.#ctx.media.renegotiatePublisher(options);
        const reply = await this.#ctx.signalling.request<{ sdp: string }>('room.publisher_renegotiation', {
          sdp: offer,
          roomId: String(room.id),
          connectionType: SFU,
        });
        // Published again meanwhile (the fallback): the answer is for a closed connection.
        if (epoch !== this.#epoch) return;
        await this.#ctx.media.applyPublisherAnswer(reply.sdp);
      });
    this.#negotiation = next;
    return next;
  }

  /** Closes the publisher connection; an answer still on its way is for it and is not applied. */
  close(): void {
    this.#epoch++;
    this.#ctx.media.closePublisher();
  }
}
