import type { Logger } from '../../../../src/lib/logger.ts';
import type { EgressSettings } from '../../../../src/sfu/egress-backend.ts';
import { S3Uploader, uploadRecording } from '../storage/index.ts';

/**
 * Finished recordings to the bucket (STORAGE_*): each file is put once its recording is closed,
 * under `recordings/<egressId>/<participantId>/<name>`; a failure after the retries fails the
 * upload with its reason (the local file stays) and is counted.
 */
export class RecordingUploads {
  readonly #uploader: S3Uploader;
  readonly #log: Logger;

  constructor(storage: NonNullable<EgressSettings['storage']>, logger: Logger) {
    this.#uploader = new S3Uploader({ storage, logger });
    this.#log = logger;
  }

  stats() {
    return this.#uploader.stats();
  }

  /** Uploads `files` (absolute paths under the egress directory); rejects with every failure's reason. */
  async upload(files: string[], keyOf: (file: string) => string = defaultKey): Promise<string[]> {
    const results = await Promise.all(
      files.map((localPath) => uploadRecording(this.#uploader, { localPath, key: keyOf(localPath) })),
    );
    const failed = results.filter((r) => !r.ok);
    for (const r of results)
      if (r.ok) this.#log.info({ key: r.key, bytes: r.sizeBytes }, 'recording uploaded');
    if (failed.length > 0)
      throw new Error(`upload failed: ${failed.map((r) => (r.ok ? '' : r.reason)).join('; ')}`);
    return results.map((r) => (r.ok ? r.url : ''));
  }
}

/** `…/<egressId>/<participantId>/<file>` → `recordings/<egressId>/<participantId>/<file>`. */
function defaultKey(localPath: string): string {
  return `recordings/${localPath.split('/').slice(-3).join('/')}`;
}
