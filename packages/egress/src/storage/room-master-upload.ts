import type { Logger } from '../../../../src/lib/logger.ts';
import { contentTypeOf } from './content-type.ts';
import type { S3Uploader } from './s3-uploader.ts';

export interface RoomMasterUploadOptions {
  uploader: S3Uploader;
  logger: Logger;
  /** The room master's key (`hls/<egressId>/master.m3u8`). */
  key: string;
  /** An upload failed for good (after the uploader's retries). */
  onFailed?: (reason: string) => void;
}

/**
 * The bucket copy of a room's master playlist. Like every playlist mirrored (HlsUploadMirror), a
 * version goes up only once what it names is in the bucket: here, the master playlist of each
 * participant it lists (whose own mirror put its media playlists up before it). Versions go up
 * one at a time, the newest pending one next; one waiting for a participant is retried when that
 * participant's master arrives.
 */
export class RoomMasterUpload {
  readonly #o: RoomMasterUploadOptions;
  /** Participants whose master playlist is in the bucket. */
  readonly #up = new Set<string>();
  #next: { text: string; ids: string[] } | null = null;
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(options: RoomMasterUploadOptions) {
    this.#o = options;
  }

  get url(): string {
    return this.#o.uploader.objectUrl(this.#o.key);
  }

  /** The participant's master playlist is in the bucket. */
  participantUp(id: string): void {
    if (this.#up.has(id)) return;
    this.#up.add(id);
    this.#drain();
  }

  publish(text: string, participantIds: string[]): void {
    this.#next = { text, ids: participantIds };
    this.#drain();
  }

  /**
   * Waits for the uploads under way, and the newest version if it can go up; a version still
   * waiting for a participant (its bucket copy failed) is left out.
   */
  async close(): Promise<void> {
    while (this.#running) await this.#running;
    this.#closed = true;
  }

  #drain(): void {
    const next = this.#next;
    if (this.#running || this.#closed || !next) return;
    if (next.ids.some((id) => !this.#up.has(id))) return;
    this.#next = null;
    const { uploader, key, logger } = this.#o;
    this.#running = uploader
      .putBytes(Buffer.from(next.text), key, contentTypeOf(key), 'no-cache')
      .then(
        () => undefined,
        (err: unknown) => {
          logger.warn({ err, key }, 'room master playlist upload failed');
          this.#o.onFailed?.(err instanceof Error ? err.message : String(err));
        },
      )
      .finally(() => {
        this.#running = null;
        this.#drain();
      });
  }
}
