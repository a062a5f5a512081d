import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file under a temporary name and renames it into place, so a reader (the HTTP handler,
 * a CDN pull, ffmpeg) never sees half a segment or half a playlist: rename(2) replaces atomically.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.tmp`);
  await writeFile(temporary, data);
  await rename(temporary, path);
}
