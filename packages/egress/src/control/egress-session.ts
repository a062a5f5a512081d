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
 * `<dataDir>/<egressId>/<participantId>/`; a room's HLS also writes the room's master playlist
 * (room-hls.ts) listing every publisher streamed.
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
  readonly #pipelines = new Map<ParticipantId, PublisherPipeline>();
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

  /** The live HLS playlist at `<participantId>/…` under the egress directory. */
  livePlaylist(relativePath: string): LivePlaylist | undefined {
    const [participantId, ...rest] = relativePath.split('/');
    return this.#pipelines.get(participantId as ParticipantId)?.livePlaylist(rest.join('/'));
  }

  transcodeCpuSeconds(): number {
    return [...this.#pipelines.values()].reduce((sum, p) => sum + p.transcodeCpuSeconds(), 0);
  }

  async #add(participantId: ParticipantId): Promise<void> {
    if (this.#stopped || this.#pipelines.has(participantId)) return;
    const { settings, logger, source, moq, stats, hlsUploader } = this.#ctx;
    const relativeDir = `${this.#egressId}/${participantId}`;
    const pipeline = new PublisherPipeline({
      source,
      roomId: this.#req.roomId,
      participantId,
      kind: this.#req.kind,
      dir: join(settings.dataDir, relativeDir),
      layer: this.#req.layer ?? -1,
      timeline: this.#timeline,
      logger: logger.child({ egressId: this.#egressId, participantId }),
      output: {
        relativeDir,
        settings,
        moq,
        moqPath: `${this.#req.roomId}/${participantId}`,
        logger,
        ...(stats && { stats }),
        ...(hlsUploader && { uploader: hlsUploader }),
        ...(this.#room && { roomMaster: this.#room.participant(participantId) }),
      },
      onActive: () => this.#events.active(),
      onEnd: (reason, failed) => this.#pipelineEnded(participantId, reason, failed),
    });
    this.#pipelines.set(participantId, pipeline);
    try {
      await pipeline.start();
    } catch (err) {
      this.#pipelines.delete(participantId);
      this.#room?.remove(participantId);
      throw err;
    }
  }

  #pipelineEnded(participantId: ParticipantId, reason: string, failed: boolean): void {
    // A participant egress ends with its publisher or its output; a room egress ends only on a
    // failure (its room closing ends it), a publisher leaving closes that publisher's files.
    if (!this.#roomWide || failed) this.#events.end(reason, failed);
    else this.#removeLater(participantId);
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
    const pipeline = this.#pipelines.get(participantId);
    if (!pipeline) return;
    this.#room?.remove(participantId);
    pipeline.stop('participant_left').catch((err: unknown) =>
      // Fire and forget: the pipeline's files are finished as well as they can be; log the rest.
      this.#ctx.logger.warn({ err, egressId: this.#egressId, participantId }, 'egress publisher stop failed'),
    );
  }
}
