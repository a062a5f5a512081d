import type { Server } from 'socket.io';
import { SfuError } from '../lib/errors.ts';
import { type ParticipantId, type RoomId, UserId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { defaultMediaState, type SfuApi, type SfuEvent } from '../protocol/sfu-api.ts';
import type { WebhookEmitter } from '../protocol/webhook-events.ts';
import { type Participant, ParticipantStatus, RoomStatus, type Store } from '../store/types.ts';
import { participantJson } from '../store/wire.ts';
import { ConnectionType, type ParticipantDirectory, type ParticipantEntry } from './participant-directory.ts';
import { onPeerEvent } from './peer-events.ts';
import type { AnySession } from './session.ts';
import { retryWhileStoreUnavailable } from './store-retry.ts';
import { WebhookReporter } from './webhook-reporter.ts';

export interface SignallingDeps {
  io: Server;
  store: Store;
  sfu: SfuApi;
  directory: ParticipantDirectory;
  /** Recorded in participants.node_id for P2P publishers (SFU publishers carry their SFU node's id). */
  nodeId: string;
  logger: Logger;
  onMembershipChanged: () => void;
  /**
   * Other signalling instances share the socket.io rooms (cluster): a participant taken over by a
   * connection on another instance is detached here too.
   */
  clustered?: boolean;
  /** How long a dropped participant may come back (default 30 s); older inactive rows authorise nothing. */
  reconnectGraceMs?: number;
  /** Where room events go as webhooks (WEBHOOK_URLS); none: no webhooks. */
  webhooks?: WebhookEmitter | undefined;
}

/** Sent to the other instances when a connection takes a participant (serverSideEmit). */
const TAKEOVER_EVENT = 'bbmeet:participant-attached';

/**
 * State and operations shared by the event handlers: participant authorisation, the leave flow,
 * announcements, and one pump per room that turns SfuApi events into socket events.
 */
export class SignallingContext {
  readonly io: Server;
  readonly store: Store;
  readonly sfu: SfuApi;
  readonly directory: ParticipantDirectory;
  readonly nodeId: string;
  readonly log: Logger;
  readonly sessions = new Map<string, AnySession>();
  /** Reports joins, leaves, tracks and egresses as webhooks; undefined without WEBHOOK_URLS. */
  readonly webhooks: WebhookReporter | undefined;
  readonly #roomPumps = new Map<RoomId, AbortController>();
  /** The last `room.active_speakers` and `room.connection_quality` of each room, for newcomers. */
  readonly #speakers = new Map<RoomId, unknown>();
  readonly #qualities = new Map<RoomId, Map<ParticipantId, unknown>>();
  readonly #onMembershipChanged: () => void;
  readonly #clustered: boolean;
  readonly #reconnectGraceMs: number;

  constructor(deps: SignallingDeps) {
    this.io = deps.io;
    this.store = deps.store;
    this.sfu = deps.sfu;
    this.directory = deps.directory;
    this.nodeId = deps.nodeId;
    this.log = deps.logger;
    this.#onMembershipChanged = deps.onMembershipChanged;
    this.#clustered = deps.clustered ?? false;
    this.#reconnectGraceMs = deps.reconnectGraceMs ?? 30_000;
    this.webhooks = deps.webhooks
      ? new WebhookReporter({
          emitter: deps.webhooks,
          store: deps.store,
          clustered: this.#clustered,
          localIds: (roomId) => new Set(this.directory.inRoom(roomId).map((e) => e.participantId)),
          logger: deps.logger,
        })
      : undefined;
    if (this.#clustered) {
      onPeerEvent(this.io, TAKEOVER_EVENT, (msg) => this.#onRemoteAttach(msg));
    }
  }

  /** To one socket of this instance (participant-targeted events are sent where it is connected). */
  emitTo(socketId: string, event: string, payload: unknown): void {
    this.io.local.to(socketId).emit(event, payload);
  }

  /** To every socket in the room but `exceptSocketId` (Waterbus "broadcast"). */
  broadcast(roomId: RoomId, event: string, payload: unknown, exceptSocketId?: string): void {
    const target = this.io.to(roomId);
    (exceptSocketId ? target.except(exceptSocketId) : target).emit(event, payload);
  }

  /**
   * The participants row, if it belongs to the session's user and to `roomId`, is live (active,
   * or inactive within the reconnect grace) and the room is active; otherwise a permission or
   * not-found error. This is what stops one user from acting as another user's participant. A
   * removed member's rows are deleted (and a newer join deletes the older rows), so they give nothing.
   */
  async authoriseParticipant(
    session: AnySession,
    participantId: ParticipantId,
    roomId: RoomId,
  ): Promise<Participant> {
    const row = await this.store.participants.findById(Number(participantId));
    if (!row)
      throw new SfuError(
        'not_found',
        `participant ${participantId} not found: join the room over REST first`,
      );
    if (row.userId !== session.userId) {
      throw new SfuError('permission_denied', `participant ${participantId} belongs to another user`);
    }
    if (String(row.roomId) !== roomId) {
      throw new SfuError('permission_denied', `participant ${participantId} is not in room ${roomId}`);
    }
    // The sweeper deletes such rows only now and then: until it does, they must not authorise.
    if (row.status !== ParticipantStatus.Active && this.#inactiveTooLong(row)) {
      throw new SfuError('not_found', `participant ${participantId} expired: join the room over REST again`);
    }
    const room = await this.store.rooms.findById(row.roomId);
    if (!room || room.status !== RoomStatus.Active)
      throw new SfuError('invalid_state', `room ${roomId} is not active`);
    return row;
  }

  #inactiveTooLong(row: Participant): boolean {
    const since = row.deletedAt === null ? Number.NaN : Date.parse(`${row.deletedAt}Z`);
    return !(Date.now() - since <= this.#reconnectGraceMs);
  }

  /**
   * A participant connected through another signalling instance of the cluster (not in this
   * instance's directory): an SFU publisher once its row records a node. Its media state is not
   * shared between instances, so the defaults stand in until its next toggle is broadcast.
   */
  async remotePublisher(roomId: RoomId, participantId: ParticipantId): Promise<ParticipantEntry | undefined> {
    const id = Number(participantId);
    if (!Number.isSafeInteger(id)) return undefined;
    const row = await this.store.participants.findById(id);
    if (!row || String(row.roomId) !== roomId || row.status !== ParticipantStatus.Active || !row.nodeId)
      return undefined;
    return {
      participantId,
      roomId,
      userId: UserId(row.userId),
      socketId: '',
      connectionType: ConnectionType.SFU,
      mediaState: defaultMediaState(),
      p2pOffer: null,
      hidden: row.hidden,
    };
  }

  /** The session's participant entry; an error when the socket has not joined `roomId`. */
  requireEntry(session: AnySession, roomId?: RoomId): ParticipantEntry {
    const ref = session.participant;
    if (!ref) throw new SfuError('invalid_state', 'not in a room: send room.publish first');
    if (roomId !== undefined && ref.roomId !== roomId) {
      throw new SfuError('permission_denied', `this connection is in room ${ref.roomId}, not ${roomId}`);
    }
    const entry = this.directory.get(ref.participantId);
    if (!entry || entry.socketId !== session.id)
      throw new SfuError('invalid_state', 'participant is no longer connected');
    return entry;
  }

  /** Makes `session` the connection of the participant, detaching an older socket that had it. */
  async attach(session: AnySession, entry: ParticipantEntry): Promise<void> {
    // From now on the sweeper treats the row as held by a socket (see participant-sweeper.ts).
    await this.store.participants.markAttached(Number(entry.participantId));
    const previous = this.directory.get(entry.participantId);
    if (previous && previous.socketId !== session.id) this.#detachOldSocket(previous);
    this.directory.add(entry);
    this.webhooks?.joined(entry);
    if (this.#clustered)
      this.io.serverSideEmit(TAKEOVER_EVENT, { participantId: entry.participantId, socketId: session.id });
    session.participant = { participantId: entry.participantId, roomId: entry.roomId };
    await session.endpoint.join(entry.roomId);
    if (!this.#roomPumps.has(entry.roomId)) this.#startRoomPump(entry.roomId);
    this.#onMembershipChanged();
    // A newcomer learns the current speakers and qualities (they are sent on change only).
    const speakers = this.#speakers.get(entry.roomId);
    if (speakers) session.endpoint.emit('room.active_speakers', speakers);
    for (const quality of this.#qualities.get(entry.roomId)?.values() ?? [])
      session.endpoint.emit('room.connection_quality', quality);
  }

  /**
   * Another instance's connection took one of our participants (a client that reconnected through
   * the load balancer before we noticed its old socket was gone): forget it here without leaving,
   * as the participant lives on over there.
   */
  #onRemoteAttach(msg: unknown): void {
    const m = msg as { participantId?: unknown; socketId?: unknown } | null;
    if (typeof m?.participantId !== 'string' || typeof m.socketId !== 'string') return;
    const entry = this.directory.get(m.participantId as ParticipantId);
    if (!entry || entry.socketId === m.socketId) return;
    this.directory.remove(entry.participantId);
    this.webhooks?.moved(entry);
    this.#qualities.get(entry.roomId)?.delete(entry.participantId);
    this.#onMembershipChanged();
    this.#detachOldSocket(entry);
    this.#stopRoomPumpIfEmpty(entry.roomId);
  }

  #detachOldSocket(previous: ParticipantEntry): void {
    const old = this.sessions.get(previous.socketId);
    this.log.info(
      { participantId: previous.participantId, socketId: previous.socketId },
      'participant taken over by a new connection',
    );
    if (!old) return;
    old.participant = null;
    old.endpoint.emit('system.error', {
      event: 'room.publish',
      code: 'invalid_state',
      message: 'this participant was taken over by another connection',
    });
    old.endpoint.disconnect(true);
  }

  /**
   * The leave flow: forget the participant, close its media, tell the room. With `keepRow` (a
   * dropped connection) the participants row stays, inactive, so the client can come back with the
   * same participantId within the reconnect grace period; otherwise it is deleted.
   */
  async leave(session: AnySession, options: { keepRow: boolean }): Promise<void> {
    const ref = session.participant;
    if (!ref) return;
    session.participant = null;
    const entry = this.directory.get(ref.participantId);
    // A newer connection owns the participant now (reconnect race): leave it alone.
    if (!entry || entry.socketId !== session.id) return;
    this.directory.remove(ref.participantId);
    this.#qualities.get(ref.roomId)?.delete(ref.participantId);
    this.#onMembershipChanged();
    await session.endpoint.leave(ref.roomId);
    // Also in P2P mode: the participant may subscribe to SFU publishers, which the SFU closes here.
    await this.sfu.leave(ref).catch((err: unknown) => this.log.warn({ err, ...ref }, 'sfu leave failed'));
    if (!entry.hidden)
      this.broadcast(ref.roomId, 'room.participant_left', { targetId: ref.participantId }, session.id);
    const id = Number(ref.participantId);
    try {
      // Why retried: a leave written nowhere leaves the participant "in the room" for good.
      await retryWhileStoreUnavailable(async () => {
        if (options.keepRow) {
          await this.store.participants.setNode(id, null);
          await this.store.participants.setStatus(id, ParticipantStatus.Inactive);
        } else {
          await this.store.participants.delete(id);
        }
      }, this.log);
    } finally {
      // After the write: the room's last leave is decided from the rows (webhook-reporter.ts).
      this.webhooks?.left(entry, options.keepRow ? 'disconnected' : 'left');
    }
    this.#stopRoomPumpIfEmpty(ref.roomId);
  }

  /** Records where the participant publishes and tells the others (`room.new_participant`). */
  async announce(participantId: ParticipantId, nodeId: string, isMigrate: boolean): Promise<void> {
    const entry = this.directory.get(participantId);
    if (!entry) return;
    const id = Number(participantId);
    // Recorded for a hidden participant too: subscribers on other instances find its node here
    // (room views leave hidden rows out).
    await this.store.participants.setNode(id, nodeId);
    if (entry.hidden) return;
    const row = await this.store.participants.findById(id);
    if (!row) return;
    const user = await this.store.users.findById(UserId(row.userId));
    // Sent to every other socket of the room: built for no viewer, so no externalId is shown.
    const payload = { participant: participantJson(row, user, { viewerId: null }), isMigrate };
    this.broadcast(entry.roomId, 'room.new_participant', payload, entry.socketId);
  }

  /**
   * The egress a `room.publish` asked for with `streamingProtocol`, started once for that publish
   * (its tracks are there now: the egress needs them to start). The call does not depend on it: an
   * egress that cannot start is logged, and a viewer's `room.subscribe_hls_live_stream` gets the error.
   */
  #startStreamOnReady(entry: ParticipantEntry): void {
    const kind = entry.streamOnReady;
    if (!kind) return;
    entry.streamOnReady = undefined;
    const ref = { roomId: entry.roomId, participantId: entry.participantId };
    this.sfu
      .startEgress({ ...ref, kind, requestedBy: ref.participantId })
      .then((info) => this.log.info({ ...ref, egressId: info.egressId, kind }, 'publisher egress started'))
      // Fire and forget: the publish already succeeded; the failure is the egress's alone.
      .catch((err: unknown) => this.log.warn({ ...ref, kind, err }, 'publisher egress not started'));
  }

  #startRoomPump(roomId: RoomId): void {
    const controller = new AbortController();
    this.#roomPumps.set(roomId, controller);
    const log = this.log.child({ roomId });
    const pump = async () => {
      for await (const event of this.sfu.events(roomId, controller.signal)) {
        await this.#onSfuEvent(roomId, event).catch((err: unknown) =>
          log.error({ err, type: event.type }, 'sfu event failed'),
        );
      }
    };
    // The pump ends when the room empties (abort); a failure of the event stream is logged.
    pump().catch((err: unknown) => {
      if (!controller.signal.aborted) log.error({ err }, 'sfu event stream failed');
    });
  }

  #stopRoomPumpIfEmpty(roomId: RoomId): void {
    if (this.directory.hasRoom(roomId)) return;
    this.#roomPumps.get(roomId)?.abort();
    this.#roomPumps.delete(roomId);
    this.#speakers.delete(roomId);
    this.#qualities.delete(roomId);
  }

  async #onSfuEvent(roomId: RoomId, event: SfuEvent): Promise<void> {
    // Room-wide events: to every socket of the room (the participants themselves included).
    if (event.type === 'activeSpeakers') {
      const payload = {
        speakers: event.speakers.map((s) => ({ participantId: s.participantId, level: s.level })),
      };
      this.#speakers.set(roomId, payload);
      // Every signalling instance with sockets in the room pumps its events: each tells its own.
      this.io.local.to(roomId).emit('room.active_speakers', payload);
      return;
    }
    if (event.type === 'connectionQuality') {
      // Only the instance holding the participant reports it, to the whole room (all instances).
      const holder = this.directory.get(event.participantId);
      if (!holder) return;
      const payload = { participantId: event.participantId, quality: event.quality, score: event.score };
      // A hidden participant's quality is its own business: not the room's, nor newcomers'.
      if (holder.hidden) return this.emitTo(holder.socketId, 'room.connection_quality', payload);
      let qualities = this.#qualities.get(roomId);
      if (!qualities) {
        qualities = new Map();
        this.#qualities.set(roomId, qualities);
      }
      qualities.set(event.participantId, payload);
      return this.broadcast(roomId, 'room.connection_quality', payload);
    }
    // Egress state reaches clients through the egress control edges (issue 14), not this pump.
    if (event.type === 'egressUpdated') return this.webhooks?.egress(roomId, event.egress);
    const entry = this.directory.get(event.participantId);
    if (!entry) return;
    switch (event.type) {
      case 'publisherReady':
        this.#startStreamOnReady(entry);
        this.webhooks?.ready(entry);
        return this.announce(event.participantId, event.nodeId, event.isMigrate);
      case 'publisherCandidate':
        return this.emitTo(entry.socketId, 'room.publisher_candidate', { ...event.candidate });
      case 'subscriberCandidate':
        return this.emitTo(entry.socketId, 'room.subscriber_candidate', {
          targetId: event.targetId,
          candidate: { ...event.candidate },
        });
      case 'subscriberOffer':
        return this.emitTo(entry.socketId, 'room.subscriber_renegotiation', {
          targetId: event.targetId,
          sdp: event.sdp,
        });
      case 'participantLost': {
        const session = this.sessions.get(entry.socketId);
        this.log.warn({ participantId: event.participantId, reason: event.reason }, 'participant media lost');
        const error = {
          event: 'media',
          code: 'unavailable',
          message: `media connection lost (${event.reason}): publish again to rejoin`,
        };
        // Through the session's endpoint: a WHIP session has no socket, and learns why it ends.
        if (session) session.endpoint.emit('system.error', error);
        else this.emitTo(entry.socketId, 'system.error', error);
        if (session) await session.run(() => this.leave(session, { keepRow: true }));
        return;
      }
    }
  }

  /** Stops every room pump (server shutdown). */
  close(): void {
    for (const controller of this.#roomPumps.values()) controller.abort();
    this.#roomPumps.clear();
  }
}
