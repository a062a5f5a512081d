import { readFile } from 'node:fs/promises';
import { posix, relative, resolve, sep } from 'node:path';
import { isSfuError } from '../../../../src/lib/errors.ts';
import type { Logger } from '../../../../src/lib/logger.ts';
import { contentTypeOf } from './content-type.ts';
import { playlistReferences } from './playlist-references.ts';
import type { S3Uploader } from './s3-uploader.ts';
import { type UploadOutcome, UploadQueue } from './upload-queue.ts';

export type HlsFileKind = 'init' | 'segment' | 'part' | 'playlist';
type MediaKind = Exclude<HlsFileKind, 'playlist'>;

/** What an HLS writer tells whoever mirrors its output directory. */
export interface HlsFileListener {
  /** A file was written completely (a playlist: each time it is rewritten). */
  onFile(path: string, kind: HlsFileKind): void;
  /** A file was deleted (a segment or part that left the window). */
  onDeleted(path: string): void;
}

export interface HlsUploadMirrorOptions {
  uploader: S3Uploader;
  logger: Logger;
  /** The HLS output directory; paths given to onFile are in it (absolute, or relative to it). */
  localDir: string;
  /** Prepended to each file's path relative to `localDir` to make its key (e.g. `room/participant/`). */
  keyPrefix: string;
  /** Segments in the playlist window: a queued segment older than that is dropped, not uploaded. */
  windowSegments: number;
  /** Uploads in flight at once (default 4). */
  concurrency?: number;
  /** Uploads waiting beyond this drop the oldest segment or part (default 4 × windowSegments). */
  maxQueued?: number;
  /**
   * An upload or delete failed for good (after its retries), with the reason: the egress owning
   * the mirror decides whether that ends it (a bucket that stays unreachable should).
   */
  onFailed?: (reason: string) => void;
  /** A playlist version is in the bucket (a room's master waits for its participants'). */
  onPlaylistUploaded?: (path: string) => void;
}

const MEDIA_CACHE_CONTROL = 'public, max-age=3600';
const PLAYLIST_CACHE_CONTROL = 'no-cache';

interface PlaylistSlot {
  /** The newest version read from disk and not yet handled. */
  next: Buffer | null;
  /** True while a version is being checked or uploaded (one at a time per playlist, in order). */
  busy: boolean;
  /** A version whose references were not all in the bucket: retried when more arrive. */
  held: Buffer | null;
}

/**
 * Mirrors an HLS output directory into the bucket as the writer produces it: segments, parts and
 * init segments first, then the playlists naming them (a playlist version goes up only once every
 * file it names is in the bucket), and segments deleted locally are deleted from the bucket once no
 * uploaded playlist names them any more. Uploads run through a bounded queue so a slow or
 * unreachable bucket drops old segments instead of falling behind.
 * Lifecycle: feed it with onFile/onDeleted; close() waits for what is under way and stops it.
 */
export class HlsUploadMirror implements HlsFileListener {
  readonly #options: HlsUploadMirrorOptions;
  readonly #log: Logger;
  readonly #queue: UploadQueue;
  /** Files in the bucket, by path relative to localDir. */
  readonly #present = new Set<string>();
  /** Media uploads queued or running, by path. */
  readonly #pending = new Map<string, Promise<UploadOutcome>>();
  readonly #playlists = new Map<string, PlaylistSlot>();
  /** What each playlist version now in the bucket names. */
  readonly #namedByBucketPlaylists = new Map<string, Set<string>>();
  /** Deleted locally; deleted from the bucket once no bucket playlist names them. */
  readonly #toDelete = new Set<string>();
  /** Media uploads the queue dropped (overflow, or stale): sent again if a playlist names them. */
  readonly #dropped = new Map<string, MediaKind>();
  readonly #work = new Set<Promise<unknown>>();
  /**
   * Sequence number of the newest complete segment, per directory (each media playlist has its
   * own: a stream's video and audio tracks), to tell a queued one that left the window.
   */
  readonly #newestSequence = new Map<string, number>();
  #closed = false;

  constructor(options: HlsUploadMirrorOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'hls-upload', keyPrefix: options.keyPrefix });
    this.#queue = new UploadQueue({
      concurrency: options.concurrency ?? 4,
      maxQueued: options.maxQueued ?? 4 * options.windowSegments,
      onDropped: (job) => {
        options.uploader.noteDropped();
        this.#log.debug({ key: job.key }, 'upload dropped');
      },
    });
  }

  /** The public URL of a mirrored file (e.g. the master playlist's, for the viewers). */
  urlOf(path: string): string {
    return this.#options.uploader.objectUrl(this.#keyOf(this.#relative(path)));
  }

  onFile(path: string, kind: HlsFileKind): void {
    if (this.#closed) return;
    const rel = this.#relative(path);
    if (kind === 'playlist') this.#track(this.#readPlaylist(rel));
    else this.#uploadMedia(rel, kind);
  }

  onDeleted(path: string): void {
    if (this.#closed) return;
    const rel = this.#relative(path);
    this.#queue.drop(this.#keyOf(rel));
    this.#dropped.delete(rel);
    this.#toDelete.add(rel);
    this.#track(this.#deleteUnnamed());
  }

  /** Resolves once every upload and delete asked for so far is done (or failed for good). */
  async flush(): Promise<void> {
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
    await this.#queue.idle();
  }

  /** Finishes what is under way, then ignores further events. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  #relative(path: string): string {
    return relative(this.#options.localDir, resolve(this.#options.localDir, path)).split(sep).join('/');
  }

  #keyOf(rel: string): string {
    return `${this.#options.keyPrefix}${rel}`;
  }

  #track(work: Promise<unknown>): void {
    this.#work.add(work);
    // Failures are handled inside (counted by the uploader, logged): this only keeps flush() honest.
    work.catch(() => undefined).finally(() => this.#work.delete(work));
  }

  /** `named`: sent again because a playlist names it: never dropped this time. */
  #uploadMedia(rel: string, kind: MediaKind, named = false): void {
    // A part belongs to the segment under construction, numbered one past the newest complete one.
    const dir = posix.dirname(rel);
    const newest = () => this.#newestSequence.get(dir) ?? 0;
    if (kind === 'segment' && !named) this.#newestSequence.set(dir, newest() + 1);
    const sequence = kind === 'segment' ? newest() : newest() + 1;
    const { uploader, windowSegments, localDir } = this.#options;
    const key = this.#keyOf(rel);
    const droppable = kind !== 'init' && !named;
    const outcome = this.#queue.push({
      key,
      droppable,
      isStale: () => droppable && newest() - sequence >= windowSegments,
      run: () =>
        this.#reported(
          uploader.putFile(resolve(localDir, rel), key, contentTypeOf(rel), MEDIA_CACHE_CONTROL),
        ),
    });
    this.#pending.set(rel, outcome);
    this.#track(outcome.then((result) => this.#mediaSettled(rel, kind, outcome, result)));
  }

  async #mediaSettled(
    rel: string,
    kind: MediaKind,
    outcome: Promise<UploadOutcome>,
    result: UploadOutcome,
  ): Promise<void> {
    if (this.#pending.get(rel) === outcome) this.#pending.delete(rel);
    if (result === 'done') this.#present.add(rel);
    if (result === 'dropped' && !this.#toDelete.has(rel)) this.#dropped.set(rel, kind);
    // Deleted locally while its upload ran: now it can go from the bucket too.
    if (this.#toDelete.has(rel)) await this.#deleteUnnamed();
    if (result === 'done') await this.#retryHeldPlaylists();
  }

  async #readPlaylist(rel: string): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await readFile(resolve(this.#options.localDir, rel));
    } catch (err) {
      // The writer may already have replaced or removed it; its next version comes with an event.
      this.#log.debug({ path: rel, err: (err as Error).message }, 'playlist unreadable');
      return;
    }
    const slot = this.#playlists.get(rel) ?? { next: null, busy: false, held: null };
    this.#playlists.set(rel, slot);
    slot.next = bytes;
    slot.held = null;
    await this.#drainPlaylist(rel, slot);
  }

  /** Handles a playlist's versions one at a time, newest first pending (older ones are skipped). */
  async #drainPlaylist(rel: string, slot: PlaylistSlot): Promise<void> {
    if (slot.busy) return;
    slot.busy = true;
    try {
      while (slot.next && !this.#closed) {
        const bytes = slot.next;
        slot.next = null;
        await this.#uploadPlaylistVersion(rel, slot, bytes);
      }
    } finally {
      slot.busy = false;
    }
  }

  async #uploadPlaylistVersion(rel: string, slot: PlaylistSlot, bytes: Buffer): Promise<void> {
    const refs = playlistReferences(bytes.toString('utf8'), rel);
    this.#resendDropped(refs);
    await Promise.all(refs.map((ref) => this.#pending.get(ref)));
    // Dropped while this version waited for them: sent again (never dropped now), waited for too.
    if (this.#resendDropped(refs)) await Promise.all(refs.map((ref) => this.#pending.get(ref)));
    const missing = refs.filter((ref) => !this.#present.has(ref));
    if (missing.length > 0) {
      // Never publish a playlist naming what the bucket lacks: hold it until the files arrive.
      if (!slot.next) slot.held = bytes;
      this.#log.debug({ path: rel, missing: missing.slice(0, 3) }, 'playlist held');
      return;
    }
    const key = this.#keyOf(rel);
    const { uploader } = this.#options;
    // The bucket may hold this version from the moment the request leaves (before its answer
    // comes): what it names is protected from deletion from then on.
    const before = this.#namedByBucketPlaylists.get(rel) ?? new Set<string>();
    this.#namedByBucketPlaylists.set(rel, new Set([...before, ...refs]));
    const result = await this.#queue.push({
      key,
      droppable: false,
      run: () => this.#reported(uploader.putBytes(bytes, key, contentTypeOf(rel), PLAYLIST_CACHE_CONTROL)),
    });
    // A failed put may still have landed: both versions stay protected until one is confirmed.
    if (result !== 'done') return;
    this.#present.add(rel);
    this.#namedByBucketPlaylists.set(rel, new Set(refs));
    this.#options.onPlaylistUploaded?.(rel);
    await Promise.all([this.#deleteUnnamed(), this.#retryHeldPlaylists()]);
  }

  /**
   * A file the queue dropped (a burst overflowed it, or it looked out of the window) that a
   * playlist still names goes up after all: else that playlist, its ENDLIST version included,
   * would be held forever.
   */
  #resendDropped(refs: string[]): boolean {
    let resent = false;
    for (const ref of refs) {
      const kind = this.#dropped.get(ref);
      if (!kind) continue;
      this.#dropped.delete(ref);
      this.#uploadMedia(ref, kind, true);
      resent = true;
    }
    return resent;
  }

  async #retryHeldPlaylists(): Promise<void> {
    const retries: Promise<void>[] = [];
    for (const [rel, slot] of this.#playlists) {
      if (!slot.held || slot.next || slot.busy) continue;
      slot.next = slot.held;
      slot.held = null;
      retries.push(this.#drainPlaylist(rel, slot));
    }
    await Promise.all(retries);
  }

  /** Deletes from the bucket the files deleted locally that no bucket playlist names any more. */
  async #deleteUnnamed(): Promise<void> {
    const deletes: Promise<unknown>[] = [];
    for (const rel of this.#toDelete) {
      if (this.#pending.has(rel) || this.#isNamedInBucket(rel)) continue;
      this.#toDelete.delete(rel);
      if (!this.#present.delete(rel)) continue;
      const key = this.#keyOf(rel);
      const { uploader } = this.#options;
      deletes.push(
        this.#queue.push({ key, droppable: false, run: () => this.#reported(uploader.deleteKey(key)) }),
      );
    }
    await Promise.all(deletes);
  }

  /** Passes a bucket failure to onFailed, then the rejection on to the queue (a 'failed' outcome). */
  async #reported<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (err) {
      // A local file already gone (not_found) is a race with the writer, not a bucket failure.
      if (isSfuError(err) && err.code === 'unavailable') this.#options.onFailed?.(err.message);
      throw err;
    }
  }

  #isNamedInBucket(rel: string): boolean {
    for (const named of this.#namedByBucketPlaylists.values()) if (named.has(rel)) return true;
    return false;
  }
}
