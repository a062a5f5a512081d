import type { z } from 'zod';
import type { RoomId } from '../lib/ids.ts';
import type { ParticipantEntry } from './participant-directory.ts';
import { onPeerEvent } from './peer-events.ts';
import type { AnySession } from './session.ts';
import type { SignallingContext } from './signalling-context.ts';

/** What a command does, to which participants, and how it travels between signalling instances. */
export interface PeerCommandSpec<T extends { roomId: RoomId }> {
  /** The event carrying it to the other instances of a cluster (serverSideEmit, relayed by the adapter). */
  event: string;
  /** Checks a command received from another instance and brands its ids; a failure drops it. */
  schema: z.ZodType<T>;
  /** Whether the command is for this participant of its room. */
  targets(command: T, entry: ParticipantEntry): boolean;
  /** Acts on the participant's session, in the session's turn. */
  apply(command: T, entry: ParticipantEntry, session: AnySession): Promise<void>;
  /** The log message when `apply` fails. */
  failedMessage: string;
}

/**
 * A command on participants' sockets wherever they are held (an operator's mute, an eviction): run
 * on this instance's participants at once and, in a cluster, sent to every other instance, since the
 * socket may be held by any of them. Lives as long as the socket server; it holds no state.
 */
export class PeerCommand<T extends { roomId: RoomId }> {
  readonly #ctx: SignallingContext;
  readonly #clustered: boolean;
  readonly #spec: PeerCommandSpec<T>;

  constructor(ctx: SignallingContext, options: { clustered: boolean }, spec: PeerCommandSpec<T>) {
    this.#ctx = ctx;
    this.#clustered = options.clustered;
    this.#spec = spec;
    if (this.#clustered) onPeerEvent(ctx.io, spec.event, (msg) => this.#onRemote(msg));
  }

  send(command: T): void {
    this.#runHere(command);
    if (this.#clustered) this.#ctx.io.serverSideEmit(this.#spec.event, command);
  }

  #onRemote(msg: unknown): void {
    const parsed = this.#spec.schema.safeParse(msg);
    if (parsed.success) this.#runHere(parsed.data);
  }

  #runHere(command: T): void {
    for (const entry of this.#ctx.directory.inRoom(command.roomId)) {
      if (!this.#spec.targets(command, entry)) continue;
      // Fire and forget: the REST caller was answered once the command went out; what a failure
      // leaves (a participant still unmuted, a socket every later check refuses) is logged.
      this.#applyInTurn(command, entry).catch((err: unknown) =>
        this.#ctx.log.warn(
          { err, roomId: command.roomId, participantId: entry.participantId },
          this.#spec.failedMessage,
        ),
      );
    }
  }

  async #applyInTurn(command: T, entry: ParticipantEntry): Promise<void> {
    const session = this.#ctx.sessions.get(entry.socketId);
    if (!session) return;
    await session.run(async () => {
      // The session may have left or taken another participant while this waited its turn.
      if (session.participant?.participantId !== entry.participantId) return;
      await this.#spec.apply(command, entry, session);
    });
  }
}
