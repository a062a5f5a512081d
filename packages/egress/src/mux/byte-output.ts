import { type FileHandle, open } from 'node:fs/promises';

/**
 * Where a muxer writes: bytes appended in order, and patches of bytes already appended (sizes,
 * durations and indexes filled in when a file is closed cleanly).
 */
export interface ByteOutput {
  /** Bytes appended so far: the position of the next append. */
  readonly position: number;
  append(bytes: Buffer): void;
  /** Overwrites bytes already appended, at `position`. */
  patch(position: number, bytes: Buffer): void;
  /** Resolves when everything is written and the output closed; rejects with the first error. */
  close(): Promise<void>;
}

/** In memory (tests, small outputs). */
export class MemoryOutput implements ByteOutput {
  #chunks: Buffer[] = [];
  #bytes: Buffer | undefined;
  position = 0;

  append(bytes: Buffer): void {
    this.#chunks.push(Buffer.from(bytes));
    this.#bytes = undefined;
    this.position += bytes.length;
  }

  patch(position: number, bytes: Buffer): void {
    const all = this.bytes();
    if (position + bytes.length > all.length) throw new RangeError('patch past the end of the output');
    bytes.copy(all, position);
  }

  bytes(): Buffer {
    this.#bytes ??= Buffer.concat(this.#chunks);
    this.#chunks = [this.#bytes];
    return this.#bytes;
  }

  async close(): Promise<void> {}
}

/**
 * A file written in the background, in order: every append is queued at once (a killed process
 * leaves what was written so far, which the crash-safe formats can play), patches after them.
 * The first error stops the writes and is reported to `onError` and by close().
 */
export class FileOutput implements ByteOutput {
  position = 0;
  readonly #handle: FileHandle;
  #chain: Promise<void> = Promise.resolve();
  #error: Error | undefined;
  readonly #onError: (err: Error) => void;

  private constructor(handle: FileHandle, onError: (err: Error) => void) {
    this.#handle = handle;
    this.#onError = onError;
  }

  /** Creates (or truncates) the file. */
  static async create(path: string, onError: (err: Error) => void = () => {}): Promise<FileOutput> {
    return new FileOutput(await open(path, 'w'), onError);
  }

  get error(): Error | undefined {
    return this.#error;
  }

  append(bytes: Buffer): void {
    this.#write(bytes, this.position);
    this.position += bytes.length;
  }

  patch(position: number, bytes: Buffer): void {
    this.#write(bytes, position);
  }

  async close(): Promise<void> {
    await this.#chain;
    await this.#handle.close();
    if (this.#error) throw this.#error;
  }

  #write(bytes: Buffer, position: number): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#error) return;
      try {
        await this.#handle.write(bytes, 0, bytes.length, position);
      } catch (err) {
        this.#error = err as Error;
        this.#onError(this.#error);
      }
    });
  }
}
