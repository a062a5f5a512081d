import { randomBytes } from 'node:crypto';
import { ParticipantId, type RoomId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { iceSessionTag } from '../../protocol/ice-session.ts';
import type { SfuApi, ViewerEndReason } from '../../protocol/sfu-api.ts';
import { iceCredentials } from '../../protocol/whip-sdp.ts';

/** Why a WHEP session ended: the player's DELETE, the SFU's `viewerEnded`, or this server's side. */
export type WhepEndReason = 'deleted' | ViewerEndReason | 'unavailable' | 'shutdown';

/** One WHEP playback: a viewer (an SFU subscriber with no participant) of one participant. */
export interface WhepSession {
  /** The resource id in `Location` (128 random bits: whoever holds the URL controls the session). */
  id: string;
  roomId: RoomId;
  viewerId: ParticipantId;
  targetId: ParticipantId;
  /** The player's offer of the current ICE session (an ICE restart replaces its credentials). */
  offer: string;
  /** The player's ICE username fragment: a PATCH with another one asks for an ICE restart. */
  iceUfrag: string | undefined;
  /** Counts ICE restarts: part of the entity tag, which names the ICE session. */
  iceGeneration: number;
  /** Quoted entity-tag of the ICE session (RFC 9110 §8.8.3), for PATCH's If-Match. */
  etag: string;
  /** Follows the room's active speaker (`targetId` is where it started). */
  follow: boolean;
}

export type WhepSfu = Pick<SfuApi, 'subscribe' | 'leave' | 'events'>;

/**
 * The WHEP sessions this signalling instance serves, and one SFU event pump per room that has
 * any: a `viewerEnded` event ends its session (its connection died, or the target left), and so
 * does the target's `participantLost` (in a cluster, its node died). A room's pump stops with its
 * last session. Lifecycle: created with the HTTP server → close() at shutdown.
 */
export class WhepSessions {
  readonly #sessions = new Map<string, WhepSession>();
  readonly #byViewer = new Map<ParticipantId, WhepSession>();
  readonly #pumps = new Map<RoomId, { controller: AbortController; sessions: number }>();
  readonly #sfu: WhepSfu;
  readonly #metrics: Metrics;
  readonly #log: Logger;

  constructor(options: { sfu: WhepSfu; metrics: Metrics; logger: Logger }) {
    this.#sfu = options.sfu;
    this.#metrics = options.metrics;
    this.#log = options.logger;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(id: string): WhepSession | undefined {
    return this.#sessions.get(id);
  }

  /** A fresh session (not yet registered) with new ids. */
  create(roomId: RoomId, targetId: ParticipantId, offer: string, follow: boolean): WhepSession {
    const id = randomBytes(16).toString('base64url');
    return {
      id,
      roomId,
      viewerId: ParticipantId(
        `whep-${randomBytes(9)
          .toString('base64url')
          .replace(/[^A-Za-z0-9]/g, 'x')}`,
      ),
      targetId,
      offer,
      iceUfrag: iceCredentials(offer)?.ufrag,
      iceGeneration: 0,
      etag: iceSessionTag(id, 0),
      follow,
    };
  }

  /** Starts the room's event pump before the SFU is asked (so that no `viewerEnded` is missed). */
  watch(roomId: RoomId): void {
    const pump = this.#pumps.get(roomId);
    if (pump) {
      pump.sessions++;
      return;
    }
    const controller = new AbortController();
    this.#pumps.set(roomId, { controller, sessions: 1 });
    // The pump ends on its own (abort, or the stream failed: its sessions are ended there).
    void this.#pump(roomId, controller.signal).catch((err: unknown) =>
      this.#log.error({ err, roomId }, 'whep event pump failed'),
    );
  }

  /** Undoes one watch() (a session that did not start, or ended). */
  unwatch(roomId: RoomId): void {
    const pump = this.#pumps.get(roomId);
    if (!pump) return;
    pump.sessions--;
    if (pump.sessions > 0) return;
    pump.controller.abort();
    this.#pumps.delete(roomId);
  }

  add(session: WhepSession): void {
    this.#sessions.set(session.id, session);
    this.#byViewer.set(session.viewerId, session);
    this.#metrics.whepSessions.inc({ outcome: 'started', reason: '' });
    this.#log.info(
      { sessionId: session.id, roomId: session.roomId, targetId: session.targetId },
      'whep session started',
    );
  }

  /** Forgets the session (the SFU side is the caller's business); false when it was not there. */
  end(id: string, reason: WhepEndReason): boolean {
    const session = this.#sessions.get(id);
    if (!session) return false;
    this.#sessions.delete(id);
    this.#byViewer.delete(session.viewerId);
    this.unwatch(session.roomId);
    this.#metrics.whepSessions.inc({ outcome: 'ended', reason });
    this.#log.info({ sessionId: id, roomId: session.roomId, reason }, 'whep session ended');
    return true;
  }

  /** The session's ICE restarted: `offer` is the player's first one with its new credentials. */
  iceRestarted(session: WhepSession, offer: string): void {
    session.offer = offer;
    session.iceUfrag = iceCredentials(offer)?.ufrag;
    session.iceGeneration += 1;
    session.etag = iceSessionTag(session.id, session.iceGeneration);
    this.#log.info(
      { sessionId: session.id, roomId: session.roomId, iceGeneration: session.iceGeneration },
      'whep ice restarted',
    );
  }

  refused(reason: string): void {
    this.#metrics.whepSessions.inc({ outcome: 'refused', reason });
  }

  /** Shutdown: every session ends, its viewer left, every pump stops. */
  async close(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    for (const s of sessions) this.end(s.id, 'shutdown');
    await Promise.allSettled(
      sessions.map((s) => this.#sfu.leave({ roomId: s.roomId, participantId: s.viewerId })),
    );
    for (const pump of this.#pumps.values()) pump.controller.abort();
    this.#pumps.clear();
  }

  async #pump(roomId: RoomId, signal: AbortSignal): Promise<void> {
    try {
      for await (const event of this.#sfu.events(roomId, signal)) {
        if (event.type === 'viewerEnded') {
          const session = this.#byViewer.get(event.participantId);
          if (session) this.end(session.id, event.reason);
        } else if (event.type === 'participantLost') {
          // The target's media is gone. A consent timeout came with viewerEnded already; a lost
          // node (cluster, told by the dispatcher) took the viewers' connections with it.
          // A lost node (cluster) took every viewer of the room with it; otherwise a follower
          // moved on in the SFU (or got viewerEnded).
          const lostNode = event.reason === 'node_lost';
          for (const s of [...this.#sessions.values()]) {
            if (s.roomId !== roomId) continue;
            if (lostNode) this.end(s.id, 'unavailable');
            else if (!s.follow && s.targetId === event.participantId) this.end(s.id, 'target_left');
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      // The room's node went away (cluster): its viewers' media went with it.
      this.#log.warn({ err, roomId }, 'whep event stream lost');
      for (const s of [...this.#sessions.values()]) if (s.roomId === roomId) this.end(s.id, 'unavailable');
    }
  }
}
