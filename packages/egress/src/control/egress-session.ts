import { join } from 'node:path';
import { SfuError } from '../../../../src/lib/errors.ts';
import type { ParticipantId } from '../../../../src/lib/ids.ts';
import type { Logger } from '../../../../src/lib/logger.ts';
import type { EgressRequest } from '../../../../src/protocol/egress.ts';
import type { EgressSettings, EgressSource } from '../../../../src/sfu/egress-backend.ts';
import type { LivePlaylist } from '../hls/hls-http.ts';
import { Timeline } from '../media/timeline.ts';
import type { MoqServer } from '../moq/index.ts';
import type { S3Uploader } from '../storage/index.ts';
import type { EgressStatsCollector } from './egress-stats.ts';
import { PublisherPipeline } from './publisher-pipeline.ts';
import type { RecordingUploads } from './recording-uploads.ts';
import type { EgressSession, SessionEvents } from './registry.ts';
import { RoomHls } from './room-hls.ts';

/**
 * One egress: a participant's tracks (one pipeline; it ends when the participant leaves), or a
 * room's (a pipeline per publisher, or only the stage participant's, following them as they come
 * and go; it ends when the room closes). Each publisher's files go under
 * `<dataDir>/<egressId>/<participantId>/`; a publisher that leaves and comes back (it rejoined
 * after a lost connection) streams anew under `<participantId>-2/`, `-3/`…, once the files of its
 * earlier stream are finished. A room's HLS also writes the room's master playlist (room-hls.ts)
 * listing every publisher streaming.
 */
export interface SessionContext {
  source: EgressSource;
  settings: EgressSettings;
  moq: MoqServer;
  logger: Logger;
  /** Uploads of finished recordings (STORAGE_*), or null. */
  uploads: RecordingUploads | null;
  /** The process's bucket client that live HLS is mirrored through (STORAGE_*), or absent. */
  hlsUploader?: S3Uploader | null;
  /** The process's egress counters. */
  stats?: EgressStatsCollector;
}

export class PublisherEgressSession implements EgressSession {
  readonly #req: EgressRequest;
  readonly #egressId: string;
  readonly #events: SessionEvents;
  readonly #ctx: SessionContext;
  /** Every stream of this egress by its key (its directory): `<participantId>`, then `-2`, `-3`… */
  readonly #pipelines = new Map<string, PublisherPipeline>();
  /** The key of the stream each publisher streams to now. */
  readonly #current = new Map<ParticipantId, string>();
  /** How many streams each publisher has had. */
  readonly #stints = new Map<ParticipantId, number>();
  /** A publisher's stream that is finishing its files (it left). */
  readonly #ending = new Map<ParticipantId, Promise<void>>();
  readonly #timeline = new Timeline(() => performance.now());
  #unwatch: (() => void) | undefined;
  #stopped = false;
  /** A room's HLS: the room master playlist. */
  #room: RoomHls | undefined;

  constructor(req: EgressRequest, egressId: string, events: SessionEvents, ctx: SessionContext) {
    this.#req = req;
    this.#egressId = egressId;
    this.#events = events;
    this.#ctx = ctx;
  }

  get #roomWide(): boolean {
    return this.#req.participantId === null;
  }

  async start(): Promise<void> {
    const { source } = this.#ctx;
    const { roomId, participantId, stageId } = this.#req;
    if (participantId !== null) {
      if (!source.publishers(roomId).includes(participantId))
        throw new SfuError('not_found', `participant ${participantId} publishes nothing in room ${roomId}`);
      await this.#add(participantId);
      return;
    }
    if (this.#req.kind === 'hls') this.#room = this.#roomHls();
    const wanted = (p: ParticipantId) => !stageId || p === stageId;
    this.#unwatch = source.watch(roomId, (change) => {
      if (change.type === 'roomClosed') this.#events.end('room_empty', false);
      else if (change.type === 'ready' && wanted(change.participantId)) this.#addLater(change.participantId);
      else if (change.type === 'left') this.#removeLater(change.participantId);
    });
    for (const p of source.publishers(roomId).filter(wanted)) await this.#add(p);
  }

  async stop(reason: string): Promise<void> {
    this.#stopped = true;
    this.#unwatch?.();
    await Promise.all([...this.#pipelines.values()].map((p) => p.stop(reason)));
    await Promise.all(this.#ending.values());
    await this.#room?.end();
    const { uploads, settings } = this.#ctx;
    // A finished recording goes to the bucket when one is configured; the local file stays.
    if (uploads && this.#req.kind === 'recording') {
      const files = this.outputs().files.map((f) => join(settings.dataDir, f));
      await uploads.upload(files);
    }
  }

  outputs(): { playlist: string | null; files: string[]; moqPath: string | null } {
    const all = [...this.#pipelines.values()].map((p) => p.outputs());
    if (this.#room) return this.#room.outputs(all);
    return {
      playlist: all.find((o) => o.playlist)?.playlist ?? null,
      // A room's HLS names each publisher's master playlist, followed by its bucket copy if any.
      files: all.flatMap((o) => (o.playlist && all.length > 1 ? [o.playlist, ...o.files] : o.files)),
      moqPath: all.find((o) => o.moqPath)?.moqPath ?? null,
    };
  }

  /** The live HLS playlist at `<stream key>/…` under the egress directory. */
  livePlaylist(relativePath: string): LivePlaylist | undefined {
    const [key, ...rest] = relativePath.split('/');
    return this.#pipelines.get(key!)?.livePlaylist(rest.join('/'));
  }

  transcodeCpuSeconds(): number {
    return [...this.#pipelines.values()].reduce((sum, p) => sum + p.transcodeCpuSeconds(), 0);
  }

  async #add(participantId: ParticipantId): Promise<void> {
    if (this.#stopped || this.#current.has(participantId)) return;
    const stint = (this.#stints.get(participantId) ?? 0) + 1;
    this.#stints.set(participantId, stint);
    const key = stint === 1 ? participantId : `${participantId}-${stint}`;
    this.#current.set(participantId, key);
    // Why wait: the earlier stream's files are finished first, and its MoQ broadcast (the same
    // path: viewers follow the participant) has ended.
    await this.#ending.get(participantId);
    if (this.#stopped || this.#current.get(participantId) !== key) return;
    const { settings, logger, source, moq, stats, hlsUploader } = this.#ctx;
    const relativeDir = `${this.#egressId}/${key}`;
    const pipeline = new PublisherPipeline({
      source,
      roomId: this.#req.roomId,
      participantId,
      kind: this.#req.kind,
      dir: join(settings.dataDir, relativeDir),
      layer: this.#req.layer ?? -1,
      timeline: this.#timeline,
      logger: logger.child({ egressId: this.#egressId, participantId, stream: key }),
      output: {
        relativeDir,
        settings,
        moq,
        moqPath: `${this.#req.roomId}/${participantId}`,
        logger,
        ...(stats && { stats }),
        ...(hlsUploader && { uploader: hlsUploader }),
        ...(this.#room && { roomMaster: this.#room.participant(key, participantId) }),
      },
      onActive: () => this.#events.active(),
      onEnd: (reason, failed) => this.#pipelineEnded(participantId, key, reason, failed),
    });
    this.#pipelines.set(key, pipeline);
    try {
      await pipeline.start();
    } catch (err) {
      this.#pipelines.delete(key);
      if (this.#current.get(participantId) === key) this.#current.delete(participantId);
      this.#room?.remove(key);
      throw err;
    }
  }

  #pipelineEnded(participantId: ParticipantId, key: string, reason: string, failed: boolean): void {
    // A participant egress ends with its publisher or its output; a room egress ends only on a
    // failure (its room closing ends it), a publisher leaving closes that publisher's files.
    if (!this.#roomWide || failed) this.#events.end(reason, failed);
    // Why the key: an earlier stream of a publisher who is back may tell its end late.
    else if (this.#current.get(participantId) === key) this.#removeLater(participantId);
  }

  #roomHls(): RoomHls {
    const { settings, logger, hlsUploader } = this.#ctx;
    return new RoomHls({
      egressId: this.#egressId,
      dataDir: settings.dataDir,
      logger,
      uploader: hlsUploader ?? null,
      onFailed: (reason) => this.#events.end(reason, true),
    });
  }

  #addLater(participantId: ParticipantId): void {
    this.#add(participantId).catch((err: unknown) =>
      // Fire and forget: a publisher that cannot be tapped (it left meanwhile) is only logged.
      this.#ctx.logger.warn({ err, egressId: this.#egressId, participantId }, 'egress skipped a publisher'),
    );
  }

  #removeLater(participantId: ParticipantId): void {
    const key = this.#current.get(participantId);
    if (key === undefined) return;
    this.#current.delete(participantId);
    this.#room?.remove(key);
    // A stream still waiting for the earlier one to finish has no pipeline yet: it does not start.
    const pipeline = this.#pipelines.get(key);
    if (!pipeline) return;
    const ended = pipeline.stop('participant_left').catch((err: unknown) =>
      // The pipeline's files are finished as well as they can be; log the rest.
      this.#ctx.logger.warn(
        { err, egressId: this.#egressId, participantId, stream: key },
        'egress publisher stop failed',
      ),
    );
    this.#ending.set(participantId, ended);
    void ended.finally(() => {
      if (this.#ending.get(participantId) === ended) this.#ending.delete(participantId);
    });
  }
}
