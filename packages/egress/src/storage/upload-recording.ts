import { basename } from 'node:path';
import { contentTypeOf } from './content-type.ts';
import type { S3Uploader } from './s3-uploader.ts';

export type RecordingUpload =
  | { ok: true; key: string; url: string; sizeBytes: number }
  | { ok: false; key: string; reason: string };

export interface RecordingFile {
  /** The finished (closed, indexed) recording on disk; it is kept whatever happens. */
  localPath: string;
  /** Its key in the bucket (default `recordings/<file name>`). */
  key?: string;
}

/**
 * Uploads a finished recording (multipart when large, retried on network errors and 5xx) and
 * reports its object URL, or why it could not: the reason names the bucket and the cause (e.g.
 * `upload of recordings/x.mp4 to bucket b failed: ECONNREFUSED: … (4 tries)`). Never rejects, and
 * never deletes the local file, so a failed upload leaves the recording served from this node.
 */
export async function uploadRecording(uploader: S3Uploader, file: RecordingFile): Promise<RecordingUpload> {
  const key = file.key ?? `recordings/${basename(file.localPath)}`;
  try {
    const put = await uploader.putFile(file.localPath, key, contentTypeOf(file.localPath));
    return { ok: true, key, url: put.url, sizeBytes: put.sizeBytes };
  } catch (err) {
    return { ok: false, key, reason: err instanceof Error ? err.message : String(err) };
  }
}
