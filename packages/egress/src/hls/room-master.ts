import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../../src/lib/logger.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { MASTER_PLAYLIST_FILE } from './hls-stream.ts';
import type { StreamVariants } from './master-playlist.ts';
import { type RoomParticipantStream, renderRoomMasterPlaylist } from './room-master-playlist.ts';

export interface RoomMasterOptions {
  /** The egress's directory: `master.m3u8` goes there, each participant's stream under `<id>/`. */
  dir: string;
  logger: Logger;
  /** A version is on disk: its text and the participants it lists (the bucket copy follows it). */
  onWritten?: (text: string, participantIds: string[]) => void;
  /** Writing failed (disk full, directory gone). */
  onError?: (err: Error) => void;
}

/**
 * The room's master playlist (`<egressDir>/master.m3u8`, room-master-playlist.ts) kept up to date:
 * a participant is listed from its stream's first master playlist on (then its media playlists
 * are on disk) until it is removed, in the order participants were added. Each change is written
 * under a temporary name and renamed into place, one version at a time.
 *
 * Lifecycle: add(id) when a participant's stream is opened → update(id) at each of its master
 * playlists → remove(id) when it stops streaming → end() waits for the last write.
 */
export class RoomMaster {
  readonly #o: RoomMasterOptions;
  readonly #participants = new Map<string, { name: string; variants: StreamVariants | null }>();
  #written: string | null = null;
  #io: Promise<void>;
  #failed = false;

  constructor(options: RoomMasterOptions) {
    this.#o = options;
    this.#io = mkdir(options.dir, { recursive: true }).then(
      () => undefined,
      (err: unknown) => this.#fail(err),
    );
  }

  /** Reserves the participant's place; it is listed once its stream has a master playlist. */
  add(id: string, name: string): void {
    if (!this.#participants.has(id)) this.#participants.set(id, { name, variants: null });
  }

  /** The participant's stream wrote its master playlist: its variants as they are now. */
  update(id: string, variants: StreamVariants): void {
    const entry = this.#participants.get(id);
    // Why: a participant removed (it left) still writes a last master as its stream ends.
    if (!entry) return;
    entry.variants = variants;
    this.#write();
  }

  remove(id: string): void {
    if (this.#participants.delete(id)) this.#write();
  }

  /** Participants listed now, in order. */
  listed(): string[] {
    return [...this.#participants].filter(([, p]) => p.variants !== null).map(([id]) => id);
  }

  /** True once a version was written (the playlist exists). */
  get written(): boolean {
    return this.#written !== null;
  }

  async end(): Promise<void> {
    await this.#io;
  }

  #write(): void {
    const listed: RoomParticipantStream[] = [];
    for (const [id, p] of this.#participants)
      if (p.variants) listed.push({ id, name: p.name, ...p.variants });
    const text = renderRoomMasterPlaylist(listed);
    // Why: nothing listed yet and nothing written: no playlist rather than an empty one.
    if (text === this.#written || (this.#written === null && listed.length === 0)) return;
    this.#written = text;
    const ids = listed.map((p) => p.id);
    this.#io = this.#io
      .then(() => (this.#failed ? undefined : writeFileAtomic(join(this.#o.dir, MASTER_PLAYLIST_FILE), text)))
      .then(() => {
        if (!this.#failed) this.#o.onWritten?.(text, ids);
      })
      .catch((err: unknown) => this.#fail(err));
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    const error = err instanceof Error ? err : new Error(String(err));
    this.#o.logger.error({ err: error }, 'room master playlist failed');
    this.#o.onError?.(error);
  }
}
