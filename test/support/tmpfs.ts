import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FILL_CHUNK_BYTES = 64 * 1024;

/**
 * A small tmpfs mounted on a directory the harness creates, to give the server a data directory
 * that can be filled: `fill()` writes a file until the filesystem answers ENOSPC, `free()` deletes
 * it. `close()` unmounts and removes the directory; call it in `finally`. Needs root (mount):
 * without it, it throws saying so — it never skips silently.
 */
export interface SmallTmpfs {
  readonly dir: string;
  /** Fills the filesystem to its last byte; returns the bytes written. */
  fill(): Promise<number>;
  /** Deletes what `fill()` wrote. */
  free(): Promise<void>;
  close(): Promise<void>;
}

export async function mountSmallTmpfs(sizeBytes: number): Promise<SmallTmpfs> {
  if (process.getuid?.() !== 0)
    throw new Error('the disk-full harness cannot run here: missing root (mount -t tmpfs needs it)');
  const dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir]);
  } catch (err) {
    await rmdir(dir);
    throw new Error(`mount -t tmpfs failed: ${(err as Error).message}`, { cause: err });
  }
  const filler = path.join(dir, 'filler');
  return {
    dir,
    fill: () => fillUntilFull(filler),
    free: () => rm(filler, { force: true }),
    async close() {
      await run('umount', [dir]);
      await rmdir(dir);
    },
  };
}

async function fillUntilFull(file: string): Promise<number> {
  const handle = await open(file, 'a');
  const chunk = Buffer.alloc(FILL_CHUNK_BYTES, 0x55);
  let written = 0;
  try {
    // Bounded: a tmpfs of a few MiB fills in a few dozen chunks; 1 GiB means the mount is wrong.
    for (let size = chunk.length; written < 1 << 30; ) {
      try {
        const { bytesWritten } = await handle.write(chunk, 0, size);
        written += bytesWritten;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // Smaller writes take the last partial pages; a one-byte write failing means it is full.
        if (size === 1) return written;
        size = Math.max(1, Math.floor(size / 2));
      }
    }
    throw new Error(`${file}: wrote 1 GiB without filling the filesystem`);
  } finally {
    await handle.close();
  }
}
