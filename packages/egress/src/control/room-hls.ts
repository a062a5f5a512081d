import { join } from 'node:path';
import type { Logger } from '../../../../src/lib/logger.ts';
import { MASTER_PLAYLIST_FILE } from '../hls/hls-stream.ts';
import type { StreamVariants } from '../hls/master-playlist.ts';
import { RoomMaster } from '../hls/room-master.ts';
import type { S3Uploader } from '../storage/index.ts';
import { RoomMasterUpload } from '../storage/room-master-upload.ts';

type Outputs = { playlist: string | null; files: string[]; moqPath: string | null };

/**
 * The room-level part of a room's HLS egress: its master playlist listing every participant
 * streamed (`<egressId>/master.m3u8`, the egress's `playlist`), and its bucket copy under
 * `hls/<egressId>/master.m3u8` when STORAGE_* is set. Each participant's own stream stays under
 * `<egressId>/<participantId>/` and is listed in the egress's `files`.
 */
export class RoomHls {
  readonly #egressId: string;
  readonly #master: RoomMaster;
  readonly #upload: RoomMasterUpload | undefined;

  constructor(options: {
    egressId: string;
    dataDir: string;
    logger: Logger;
    uploader?: S3Uploader | null;
    onFailed(reason: string): void;
  }) {
    const { egressId, logger, uploader, onFailed } = options;
    this.#egressId = egressId;
    this.#upload = uploader
      ? new RoomMasterUpload({
          uploader,
          logger,
          key: `hls/${egressId}/${MASTER_PLAYLIST_FILE}`,
          onFailed: (reason) => onFailed(`upload failed: ${reason}`),
        })
      : undefined;
    this.#master = new RoomMaster({
      dir: join(options.dataDir, egressId),
      logger: logger.child({ egressId }),
      onWritten: (text, ids) => this.#upload?.publish(text, ids),
      onError: (err) => onFailed(`writing HLS failed: ${err.message}`),
    });
  }

  /**
   * What a participant's HLS output tells the room (OutputContext.roomMaster). `id` is the stream's
   * directory: the participant's id, or `<id>-2`… when it streams again after leaving.
   */
  participant(id: string, participantId = id): { written(variants: StreamVariants): void; uploaded(): void } {
    this.#master.add(id, `Participant ${participantId}`);
    return {
      written: (variants) => this.#master.update(id, variants),
      uploaded: () => this.#upload?.participantUp(id),
    };
  }

  /** The participant stopped streaming (it left): the room master drops it. */
  remove(id: string): void {
    this.#master.remove(id);
  }

  /** The room master first, then each participant's playlist and bucket copy. */
  outputs(participants: Outputs[]): Outputs {
    const own = participants.flatMap((o) => (o.playlist ? [o.playlist, ...o.files] : o.files));
    return {
      playlist:
        participants.length > 0 || this.#master.written ? `${this.#egressId}/${MASTER_PLAYLIST_FILE}` : null,
      files: [...(this.#upload ? [this.#upload.url] : []), ...own],
      moqPath: null,
    };
  }

  /** After the participants' streams ended: the last version written, and uploaded. */
  async end(): Promise<void> {
    await this.#master.end();
    await this.#upload?.close();
  }
}
