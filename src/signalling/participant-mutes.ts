import { z } from 'zod';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import type { MuteKinds } from '../protocol/participant-control.ts';
import type { MediaState } from '../protocol/sfu-api.ts';
import { ConnectionType, type ParticipantEntry } from './participant-directory.ts';
import { onPeerEvent } from './peer-events.ts';
import type { SignallingContext } from './signalling-context.ts';

/** Sent to the other signalling instances of a cluster (serverSideEmit, relayed by the adapter). */
const MUTE_EVENT = 'bbmeet:mute-participant';

const muteMessage = z.object({
  roomId: z.string().max(20),
  participantId: z.string().max(20),
  audio: z.boolean(),
  video: z.boolean(),
});

/**
 * An operator's mute (ParticipantControl.mute): the instance holding the participant's socket
 * records the media state (later subscribers get it in `room.answer_subscriber`), has the SFU stop
 * forwarding (`enforce`), and tells the room with the Waterbus media-state events, the participant
 * included (its client and our SDK turn the track off). A hidden participant is told alone.
 */
export class ParticipantMutes {
  readonly #ctx: SignallingContext;
  readonly #clustered: boolean;

  constructor(ctx: SignallingContext, options: { clustered: boolean }) {
    this.#ctx = ctx;
    this.#clustered = options.clustered;
    if (this.#clustered) {
      onPeerEvent(ctx.io, MUTE_EVENT, (msg) => this.#onRemote(msg));
    }
  }

  mute(roomId: RoomId, participantId: ParticipantId, kinds: MuteKinds): void {
    this.#muteHere(roomId, participantId, kinds);
    if (this.#clustered) this.#ctx.io.serverSideEmit(MUTE_EVENT, { roomId, participantId, ...kinds });
  }

  #onRemote(msg: unknown): void {
    const parsed = muteMessage.safeParse(msg);
    if (!parsed.success) return;
    const { roomId, participantId, audio, video } = parsed.data;
    this.#muteHere(RoomId(roomId), ParticipantId(participantId), { audio, video });
  }

  #muteHere(roomId: RoomId, participantId: ParticipantId, kinds: MuteKinds): void {
    const entry = this.#ctx.directory.get(participantId);
    if (!entry || entry.roomId !== roomId) return;
    // Fire and forget: the REST caller was answered once the request went out; a failure leaves
    // the participant unmuted, which the admin view shows, so it is logged.
    this.#mute(entry, kinds).catch((err: unknown) =>
      this.#ctx.log.warn({ err, roomId, participantId }, 'operator mute failed'),
    );
  }

  async #mute(entry: ParticipantEntry, kinds: MuteKinds): Promise<void> {
    const session = this.#ctx.sessions.get(entry.socketId);
    if (!session) return;
    await session.run(async () => {
      // The session may have left or taken another participant while this waited its turn.
      if (session.participant?.participantId !== entry.participantId) return;
      const state: Partial<MediaState> = {};
      if (kinds.audio) state.audioEnabled = false;
      if (kinds.video) state.videoEnabled = false;
      Object.assign(entry.mediaState, state);
      const { roomId, participantId } = entry;
      if (entry.connectionType === ConnectionType.SFU)
        await this.#ctx.sfu.setMediaState({ roomId, participantId, state, enforce: true });
      this.#ctx.log.info({ roomId, participantId, ...kinds }, 'participant muted by operator');
      for (const [kind, event] of [
        ['audio', 'room.audio_enabled'],
        ['video', 'room.video_enabled'],
      ] as const) {
        if (!kinds[kind]) continue;
        const payload = { participantId, isEnabled: false };
        if (entry.hidden) session.endpoint.emit(event, payload);
        else this.#ctx.io.to(roomId).emit(event, payload);
      }
    });
  }
}
