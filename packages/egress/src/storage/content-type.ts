import { extname } from 'node:path';

const TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment',
  '.cmfv': 'video/mp4',
  '.cmfa': 'audio/mp4',
  '.m4a': 'audio/mp4',
  '.m4v': 'video/mp4',
  '.webm': 'video/webm',
  '.ts': 'video/mp2t',
  '.aac': 'audio/aac',
};

/** The Content-Type an object is stored with, from its file name (binary when unknown). */
export function contentTypeOf(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}
