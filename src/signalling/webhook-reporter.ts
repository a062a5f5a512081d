import type { ParticipantId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { EgressInfo } from '../protocol/egress.ts';
import type {
  WebhookEgress,
  WebhookEmitter,
  WebhookLeaveReason,
  WebhookParticipant,
  WebhookRoom,
  WebhookTrack,
} from '../protocol/webhook-events.ts';
import { ParticipantStatus, type Store } from '../store/types.ts';
import type { ParticipantEntry } from './participant-directory.ts';
import { publishedTracks } from './published-tracks.ts';

export interface WebhookReporterOptions {
  emitter: WebhookEmitter;
  store: Store;
  /** Other signalling instances hold participants of the same rooms (cluster). */
  clustered: boolean;
  /** Participant ids of the room connected through this instance (the ParticipantDirectory). */
  localIds: (roomId: RoomId) => Set<string>;
  logger: Logger;
}

interface Member {
  participant: WebhookParticipant;
  /** Negotiated, waiting for the SFU's `publisherReady`. */
  pending: WebhookTrack[];
  published: WebhookTrack[];
  ready: boolean;
}

interface RoomState {
  room: WebhookRoom;
  members: Map<ParticipantId, Member>;
  /** Egresses whose start was reported (their end is reported once too). */
  egresses: Set<string>;
}

/**
 * Turns what signalling sees into webhook events: participants joining and leaving this instance,
 * their tracks, egress updates, and a room's first join / last leave. Calls return at once; each
 * room's work runs in order on its own chain (store reads included), so its events are emitted in
 * the order they happened. Where a room started or finished is decided here: see docs/webhooks.md.
 */
export class WebhookReporter {
  readonly #o: WebhookReporterOptions;
  readonly #rooms = new Map<RoomId, RoomState>();
  readonly #chains = new Map<RoomId, Promise<void>>();

  constructor(options: WebhookReporterOptions) {
    this.#o = options;
  }

  /** The participant is now connected through this instance (`attach`). */
  joined(entry: ParticipantEntry): void {
    this.#run(entry.roomId, async () => {
      const state = this.#rooms.get(entry.roomId) ?? (await this.#openRoom(entry.roomId));
      // A republish, or a new socket of the same participant: still the same presence.
      if (state.members.has(entry.participantId)) return;
      const participant = await this.#participantInfo(entry);
      if (state.members.size === 0 && !(await this.#othersLive(entry.roomId))) {
        this.#o.emitter.emit({ event: 'room_started', room: state.room });
      }
      state.members.set(entry.participantId, { participant, pending: [], published: [], ready: false });
      this.#o.emitter.emit({ event: 'participant_joined', room: state.room, participant });
    });
  }

  /** The leave flow ended (its row is written): tracks unpublished, participant left, maybe the room. */
  left(entry: ParticipantEntry, reason: WebhookLeaveReason): void {
    this.#run(entry.roomId, async () => {
      const state = this.#rooms.get(entry.roomId);
      const member = state?.members.get(entry.participantId);
      if (!state || !member) return;
      this.#unpublishAll(state.room, member);
      state.members.delete(entry.participantId);
      this.#o.emitter.emit({
        event: 'participant_left',
        room: state.room,
        participant: member.participant,
        reason,
      });
      await this.#finishIfEmpty(entry.roomId, state);
    });
  }

  /** Another instance took the participant over (cluster reconnect): it lives on there, silently here. */
  moved(entry: ParticipantEntry): void {
    this.#run(entry.roomId, async () => {
      const state = this.#rooms.get(entry.roomId);
      if (!state?.members.delete(entry.participantId)) return;
      await this.#finishIfEmpty(entry.roomId, state);
    });
  }

  /** The SFU answered a publish offer: its tracks are reported once `publisherReady` comes. */
  negotiated(entry: ParticipantEntry, offer: string, answer: string): void {
    const tracks = publishedTracks(offer, answer, entry.mediaState.screenTrackId);
    this.#withMember(entry, (room, member) => {
      this.#unpublishAll(room, member);
      member.pending = tracks;
      member.ready = false;
    });
  }

  /** The SFU received every announced track (`publisherReady`). */
  ready(entry: ParticipantEntry): void {
    this.#withMember(entry, (room, member) => {
      member.ready = true;
      for (const track of member.pending) this.#emitTrack('track_published', room, member, track);
      member.published.push(...member.pending);
      member.pending = [];
    });
  }

  /**
   * A renegotiated publisher (tracks added or removed): new tracks are reported at once when the
   * publisher was ready (the SFU sends no second `publisherReady`), removed ones as unpublished.
   */
  renegotiated(entry: ParticipantEntry, offer: string, answer: string): void {
    const tracks = publishedTracks(offer, answer, entry.mediaState.screenTrackId);
    this.#withMember(entry, (room, member) => {
      const mids = new Set(tracks.map((t) => t.mid));
      for (const track of member.published.filter((t) => !mids.has(t.mid)))
        this.#emitTrack('track_unpublished', room, member, track);
      const known = new Set([...member.published, ...member.pending].map((t) => t.mid));
      const added = tracks.filter((t) => !known.has(t.mid));
      member.published = member.published.filter((t) => mids.has(t.mid));
      member.pending = member.pending.filter((t) => mids.has(t.mid));
      if (!member.ready) return void member.pending.push(...added);
      for (const track of added) this.#emitTrack('track_published', room, member, track);
      member.published.push(...added);
    });
  }

  /** The participant's SFU publisher closed while it stays in the room (republish, move to P2P). */
  unpublished(entry: ParticipantEntry): void {
    this.#withMember(entry, (room, member) => {
      this.#unpublishAll(room, member);
      member.pending = [];
      member.ready = false;
    });
  }

  /** An `egressUpdated` of a room this instance pumps: its start and its end, once each. */
  egress(roomId: RoomId, info: EgressInfo): void {
    this.#run(roomId, async () => {
      const state = this.#rooms.get(roomId);
      if (!state || !(await this.#reportsEgress(roomId))) return;
      const ended = info.state === 'ended' || info.state === 'failed';
      if (!ended && info.state !== 'ending' && !state.egresses.has(info.egressId)) {
        state.egresses.add(info.egressId);
        this.#o.emitter.emit({ event: 'egress_started', room: state.room, egress: egressJson(info) });
      } else if (ended && state.egresses.delete(info.egressId)) {
        this.#o.emitter.emit({ event: 'egress_ended', room: state.room, egress: egressJson(info) });
      }
    });
  }

  /** Resolves when the work queued so far is done (shutdown: before the sink flushes). */
  async idle(): Promise<void> {
    while (this.#chains.size > 0) await Promise.allSettled([...this.#chains.values()]);
  }

  #run(roomId: RoomId, work: () => Promise<void>): void {
    const previous = this.#chains.get(roomId) ?? Promise.resolve();
    const next = previous.then(work).catch((err: unknown) =>
      // Why only logged: a webhook must never fail the signalling flow that reported it.
      this.#o.logger.warn({ err, roomId }, 'webhook event not reported'),
    );
    this.#chains.set(roomId, next);
    void next.then(() => {
      if (this.#chains.get(roomId) === next) this.#chains.delete(roomId);
    });
  }

  #withMember(entry: ParticipantEntry, fn: (room: WebhookRoom, member: Member) => void): void {
    this.#run(entry.roomId, async () => {
      const state = this.#rooms.get(entry.roomId);
      const member = state?.members.get(entry.participantId);
      if (state && member) fn(state.room, member);
    });
  }

  #emitTrack(
    event: 'track_published' | 'track_unpublished',
    room: WebhookRoom,
    member: Member,
    track: WebhookTrack,
  ): void {
    this.#o.emitter.emit({ event, room, participant: member.participant, track });
  }

  #unpublishAll(room: WebhookRoom, member: Member): void {
    for (const track of member.published) this.#emitTrack('track_unpublished', room, member, track);
    member.published = [];
  }

  async #finishIfEmpty(roomId: RoomId, state: RoomState): Promise<void> {
    if (state.members.size > 0) return;
    this.#rooms.delete(roomId);
    if (!(await this.#othersLive(roomId))) this.#o.emitter.emit({ event: 'room_finished', room: state.room });
  }

  async #openRoom(roomId: RoomId): Promise<RoomState> {
    const row = await this.#o.store.rooms.findById(Number(roomId)).catch(() => undefined);
    const state: RoomState = {
      room: { id: roomId, code: row?.code ?? null, title: row?.title ?? null },
      members: new Map(),
      egresses: new Set(),
    };
    this.#rooms.set(roomId, state);
    return state;
  }

  async #participantInfo(entry: ParticipantEntry): Promise<WebhookParticipant> {
    const user = await this.#o.store.users.findById(entry.userId).catch(() => undefined);
    return {
      id: entry.participantId,
      userId: entry.userId,
      name: user ? (user.fullName ?? user.userName) : null,
      hidden: entry.hidden ?? false,
    };
  }

  /**
   * Whether participants connected through other instances are in the room (cluster): live rows
   * (active, taken by a socket) that this instance does not hold. One instance has no others.
   */
  async #othersLive(roomId: RoomId): Promise<boolean> {
    if (!this.#o.clustered) return false;
    return (await this.#liveRows(roomId)).some((id) => !this.#o.localIds(roomId).has(id));
  }

  /** Cluster: the instance holding the room's lowest live participant id reports its egresses. */
  async #reportsEgress(roomId: RoomId): Promise<boolean> {
    if (!this.#o.clustered) return true;
    const lowest = (await this.#liveRows(roomId))[0];
    return lowest !== undefined && this.#o.localIds(roomId).has(lowest);
  }

  /** Ids of the room's live rows, lowest first. */
  async #liveRows(roomId: RoomId): Promise<string[]> {
    const rows = await this.#o.store.participants.listByRoom(Number(roomId));
    return rows
      .filter((r) => r.status === ParticipantStatus.Active && r.attachedAt !== null)
      .map((r) => String(r.id));
  }
}

function egressJson(info: EgressInfo): WebhookEgress {
  return {
    egressId: info.egressId,
    kind: info.kind,
    participantId: info.participantId,
    state: info.state,
    startedAt: info.startedAt,
    endedAt: info.endedAt,
    reason: info.reason,
    playlist: info.playlist,
    files: info.files,
    nodeId: info.nodeId,
  };
}
