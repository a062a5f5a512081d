import { randomUUID } from 'node:crypto';
import { SfuError } from '../../../../src/lib/errors.ts';
import type { RoomId } from '../../../../src/lib/ids.ts';
import type { Logger } from '../../../../src/lib/logger.ts';
import {
  type EgressInfo,
  type EgressKind,
  type EgressRequest,
  type EgressStats,
  emptyEgressStats,
} from '../../../../src/protocol/egress.ts';
import type { EgressBackend } from '../../../../src/sfu/egress-backend.ts';

/**
 * The running egresses of one SFU process and their life cycle (starting → active → ending →
 * ended | failed), whatever their kind. Each egress is a session the registry starts, watches and
 * ends; the registry keeps ended ones for a while so `list` shows how they ended.
 */

/** One egress at work (an HLS stream, a recording, a MoQ broadcast). */
export interface EgressSession {
  /** Attaches to the tracks and starts writing; rejects when it cannot start at all. */
  start(): Promise<void>;
  /** Finishes the output (files closed with their index); resolves when done. */
  stop(reason: string): Promise<void>;
  /** Output paths relative to the egress root, known so far. */
  outputs(): { playlist: string | null; files: string[]; moqPath: string | null };
}

/** What a session tells the registry while it runs. */
export interface SessionEvents {
  /** First media written: the egress is `active`. */
  active(): void;
  /** It cannot go on (ffmpeg died, disk full, the publisher left): end it with this reason. */
  end(reason: string, failed: boolean): void;
}

export type SessionFactory = (req: EgressRequest, egressId: string, events: SessionEvents) => EgressSession;

/** Ended egresses stay listed this long. */
const KEEP_ENDED_MS = 10 * 60_000;
/** A session that takes longer than this to finish its files on stop is abandoned. */
const STOP_DEADLINE_MS = 15_000;

interface Entry {
  info: EgressInfo;
  session: EgressSession;
  stopping: Promise<EgressInfo> | null;
}

export class EgressRegistry implements EgressBackend {
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<(info: EgressInfo) => void>();
  readonly #create: SessionFactory;
  readonly #nodeId: string;
  readonly #baseUrl: string | null;
  readonly #log: Logger;
  #closed = false;

  readonly #afterClose: (() => Promise<void> | void) | undefined;
  readonly #stats: ((active: Record<EgressKind, number>) => EgressStats) | undefined;

  constructor(options: {
    create: SessionFactory;
    nodeId: string;
    baseUrl: string | null;
    logger: Logger;
    /** After shutdown ended every egress (the MoQ endpoint closes then). */
    afterClose?: () => Promise<void> | void;
    /** The process's counters, given the egresses not yet ended by kind (stats()). */
    stats?: (active: Record<EgressKind, number>) => EgressStats;
  }) {
    this.#stats = options.stats;
    this.#create = options.create;
    this.#afterClose = options.afterClose;
    this.#nodeId = options.nodeId;
    this.#baseUrl = options.baseUrl;
    this.#log = options.logger;
  }

  async start(req: EgressRequest): Promise<EgressInfo> {
    if (this.#closed) throw new SfuError('unavailable', 'the server is shutting down');
    const egressId = randomUUID();
    const info: EgressInfo = {
      egressId,
      roomId: req.roomId,
      kind: req.kind,
      participantId: req.participantId,
      state: 'starting',
      startedAt: Date.now(),
      endedAt: null,
      reason: null,
      playlist: null,
      files: [],
      moqPath: null,
      nodeId: this.#nodeId,
      baseUrl: this.#baseUrl,
    };
    const events: SessionEvents = {
      active: () => this.#activate(egressId),
      end: (reason, failed) => {
        this.#finish(egressId, reason, failed).catch((err: unknown) =>
          // Fire and forget: #finish logs its own failures; this only keeps the rejection handled.
          this.#log.error({ err, egressId }, 'egress end failed'),
        );
      },
    };
    const session = this.#create(req, egressId, events);
    const entry: Entry = { info, session, stopping: null };
    this.#entries.set(egressId, entry);
    try {
      await session.start();
    } catch (err) {
      this.#entries.delete(egressId);
      throw err instanceof SfuError ? err : new SfuError('internal', `egress did not start: ${String(err)}`);
    }
    Object.assign(info, session.outputs());
    this.#log.info({ egressId, roomId: req.roomId, kind: req.kind, by: req.requestedBy }, 'egress started');
    this.#emit(info);
    return { ...info };
  }

  stop(egressId: string, reason: string): Promise<EgressInfo> {
    const entry = this.#entries.get(egressId);
    if (!entry) return Promise.reject(new SfuError('not_found', `no egress ${egressId}`));
    if (entry.info.state === 'ended' || entry.info.state === 'failed')
      return Promise.resolve({ ...entry.info });
    return this.#finish(egressId, reason, false);
  }

  list(roomId?: RoomId): EgressInfo[] {
    this.#forgetOld();
    return [...this.#entries.values()]
      .filter((e) => roomId === undefined || e.info.roomId === roomId)
      .map((e) => ({ ...e.info, ...(isLive(e.info) ? e.session.outputs() : {}) }));
  }

  stats(): EgressStats {
    const active = emptyEgressStats().active;
    for (const e of this.#entries.values()) if (!isFinal(e.info)) active[e.info.kind]++;
    return this.#stats?.(active) ?? { ...emptyEgressStats(), active };
  }

  onUpdate(listener: (info: EgressInfo) => void): void {
    this.#listeners.add(listener);
  }

  /** Every egress ended with `reason` (a participant left: its egresses; the room emptied: all). */
  async endWhere(match: (info: EgressInfo) => boolean, reason: string): Promise<void> {
    const ids = [...this.#entries.values()]
      .filter((e) => isLive(e.info) && match(e.info))
      .map((e) => e.info.egressId);
    await Promise.all(ids.map((id) => this.#finish(id, reason, false)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.endWhere(() => true, 'shutdown');
    await this.#afterClose?.();
  }

  #activate(egressId: string): void {
    const entry = this.#entries.get(egressId);
    if (entry?.info.state !== 'starting') return;
    entry.info.state = 'active';
    Object.assign(entry.info, entry.session.outputs());
    this.#emit(entry.info);
  }

  #finish(egressId: string, reason: string, failed: boolean): Promise<EgressInfo> {
    const entry = this.#entries.get(egressId);
    if (!entry) return Promise.reject(new SfuError('not_found', `no egress ${egressId}`));
    if (entry.stopping) return entry.stopping;
    entry.info.state = 'ending';
    this.#emit(entry.info);
    entry.stopping = this.#stopSession(entry, reason).then((stopError) => {
      const final = stopError ?? (failed ? reason : null);
      Object.assign(entry.info, entry.session.outputs(), {
        state: final ? 'failed' : 'ended',
        reason: final ? (stopError ? `${reason}; finishing failed: ${stopError}` : reason) : reason,
        endedAt: Date.now(),
      });
      const level = final ? 'warn' : 'info';
      this.#log[level]({ egressId, roomId: entry.info.roomId, reason: entry.info.reason }, 'egress ended');
      this.#emit(entry.info);
      return { ...entry.info };
    });
    return entry.stopping;
  }

  /** Stops the session within the deadline; resolves with what went wrong, or null. */
  async #stopSession(entry: Entry, reason: string): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`not finished within ${STOP_DEADLINE_MS} ms`), STOP_DEADLINE_MS);
    });
    try {
      return await Promise.race([entry.session.stop(reason).then(() => null), deadline]);
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timer);
    }
  }

  #forgetOld(): void {
    const cutoff = Date.now() - KEEP_ENDED_MS;
    for (const [id, e] of this.#entries)
      if (e.info.endedAt !== null && e.info.endedAt < cutoff) this.#entries.delete(id);
  }

  #emit(info: EgressInfo): void {
    const copy = { ...info };
    for (const listener of this.#listeners) listener(copy);
  }
}

function isLive(info: EgressInfo): boolean {
  return info.state === 'starting' || info.state === 'active';
}

function isFinal(info: EgressInfo): boolean {
  return info.state === 'ended' || info.state === 'failed';
}
