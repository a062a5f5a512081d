import { z } from 'zod';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import type { MuteKinds } from '../protocol/participant-control.ts';
import type { MediaState } from '../protocol/sfu-api.ts';
import { ConnectionType, type ParticipantEntry } from './participant-directory.ts';
import { PeerCommand } from './peer-command.ts';
import type { AnySession } from './session.ts';
import type { SignallingContext } from './signalling-context.ts';

const muteCommand = z.object({
  roomId: z.string().max(20).transform(RoomId),
  participantId: z.string().max(20).transform(ParticipantId),
  audio: z.boolean(),
  video: z.boolean(),
});
type MuteCommand = z.infer<typeof muteCommand>;

const MUTE_EVENTS = [
  ['audio', 'room.audio_enabled'],
  ['video', 'room.video_enabled'],
] as const;

/**
 * An operator's mute (ParticipantControl.mute): the instance holding the participant's socket
 * records the media state (later subscribers get it in `room.answer_subscriber`), has the SFU stop
 * forwarding (`enforce`), and tells the room with the Waterbus media-state events, the participant
 * included (its client and our SDK turn the track off). A hidden participant is told alone.
 */
export class ParticipantMutes {
  readonly #ctx: SignallingContext;
  readonly #command: PeerCommand<MuteCommand>;

  constructor(ctx: SignallingContext, options: { clustered: boolean }) {
    this.#ctx = ctx;
    this.#command = new PeerCommand(ctx, options, {
      event: 'bbmeet:mute-participant',
      schema: muteCommand,
      targets: (cmd, entry) => entry.participantId === cmd.participantId,
      apply: (cmd, entry, session) => this.#mute(entry, cmd, session),
      failedMessage: 'operator mute failed',
    });
  }

  mute(roomId: RoomId, participantId: ParticipantId, kinds: MuteKinds): void {
    this.#command.send({ roomId, participantId, ...kinds });
  }

  async #mute(entry: ParticipantEntry, kinds: MuteKinds, session: AnySession): Promise<void> {
    const state: Partial<MediaState> = {};
    if (kinds.audio) state.audioEnabled = false;
    if (kinds.video) state.videoEnabled = false;
    Object.assign(entry.mediaState, state);
    const { roomId, participantId } = entry;
    if (entry.connectionType === ConnectionType.SFU)
      await this.#ctx.sfu.setMediaState({ roomId, participantId, state, enforce: true });
    this.#ctx.log.info(
      { roomId, participantId, audio: kinds.audio, video: kinds.video },
      'participant muted by operator',
    );
    for (const [kind, event] of MUTE_EVENTS) {
      if (!kinds[kind]) continue;
      const payload = { participantId, isEnabled: false };
      if (entry.hidden) session.endpoint.emit(event, payload);
      else this.#ctx.io.to(roomId).emit(event, payload);
    }
  }
}
