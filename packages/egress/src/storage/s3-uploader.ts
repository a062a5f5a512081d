import { stat } from 'node:fs/promises';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SfuError } from '../../../../src/lib/errors.ts';
import type { Logger } from '../../../../src/lib/logger.ts';
import { withFileBody } from './file-body.ts';
import { MIN_PART_BYTES, putFileInParts } from './multipart-put.ts';
import { DEFAULT_RETRY_POLICY, describeStorageError, type RetryPolicy, withRetries } from './retry.ts';
import { endpointOf, objectUrl, type StorageSettings } from './storage-options.ts';

export interface S3UploaderOptions {
  storage: StorageSettings;
  logger: Logger;
  retry?: RetryPolicy;
  /** Files larger than this go up in parts of this size (default 8 MiB, at least 5 MiB). */
  partBytes?: number;
  /** Giving up on a connection attempt (default 5 s) or on an idle socket (default 30 s). */
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/** Counters for the egress metrics (Prometheus): monotonic over the uploader's life. */
export interface UploadStats {
  uploadedObjects: number;
  uploadedBytes: number;
  deletedObjects: number;
  /** Uploads and deletes that failed for good (after their retries). */
  errors: number;
  /** Attempts repeated after a network error, a timeout or a 5xx. */
  retries: number;
  /** Queued uploads given up because their file left the playlist window first. */
  dropped: number;
}

export interface PutResult {
  key: string;
  url: string;
  sizeBytes: number;
}

const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

/**
 * Puts files into an S3-compatible bucket, streamed from disk (multipart above `partBytes`), each
 * request retried with backoff on network errors and 5xx. Failures reject with an SfuError whose
 * message is the reason; credentials are never logged nor put in a reason.
 * Lifecycle: usable from construction until close(), which frees the HTTP sockets.
 */
export class S3Uploader {
  readonly bucket: string;
  readonly #storage: StorageSettings;
  readonly #client: S3Client;
  readonly #log: Logger;
  readonly #retry: RetryPolicy;
  readonly #partBytes: number;
  readonly #stats: UploadStats = {
    uploadedObjects: 0,
    uploadedBytes: 0,
    deletedObjects: 0,
    errors: 0,
    retries: 0,
    dropped: 0,
  };

  constructor(options: S3UploaderOptions) {
    const { storage } = options;
    this.bucket = storage.bucket;
    this.#storage = storage;
    this.#log = options.logger.child({ component: 'storage', bucket: storage.bucket });
    this.#retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.#partBytes = Math.max(MIN_PART_BYTES, options.partBytes ?? DEFAULT_PART_BYTES);
    this.#client = new S3Client({
      endpoint: endpointOf(storage),
      region: storage.region,
      forcePathStyle: storage.forcePathStyle,
      credentials: { accessKeyId: storage.accessKeyId, secretAccessKey: storage.secretAccessKey },
      // Retries are ours: the SDK cannot replay a body streamed from disk.
      maxAttempts: 1,
      // S3-compatible servers (MinIO, R2, s3rver) differ in the newer default checksums: send only
      // what a request requires.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      logger: sdkLogger(this.#log),
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? 5000,
        socketTimeout: options.idleTimeoutMs ?? 30_000,
      },
    });
  }

  /** A copy of the counters. */
  stats(): UploadStats {
    return { ...this.#stats };
  }

  objectUrl(key: string): string {
    return objectUrl(this.#storage, key);
  }

  /** Counts queued uploads that were given up (the queue calls it). */
  noteDropped(count = 1): void {
    this.#stats.dropped += count;
  }

  /** Uploads a file from disk under `key`; resolves once the object is in the bucket. */
  async putFile(
    localPath: string,
    key: string,
    contentType: string,
    cacheControl?: string,
  ): Promise<PutResult> {
    const sizeBytes = await fileSize(localPath, key);
    await this.#guard('upload', key, async () => {
      if (sizeBytes > this.#partBytes) {
        const file = { bucket: this.bucket, key, localPath, sizeBytes, contentType, cacheControl };
        await putFileInParts(this.#client, { ...file, partBytes: this.#partBytes }, this.#retrying(key));
        return;
      }
      await this.#retrying(key)('put', () =>
        withFileBody(localPath, undefined, (Body) =>
          this.#client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: key,
              Body,
              ContentLength: sizeBytes,
              ContentType: contentType,
              CacheControl: cacheControl,
            }),
          ),
        ),
      );
    });
    return this.#uploaded(key, sizeBytes);
  }

  /** Uploads a small object held in memory (a playlist snapshot). */
  async putBytes(body: Buffer, key: string, contentType: string, cacheControl?: string): Promise<PutResult> {
    await this.#guard('upload', key, () =>
      this.#retrying(key)('put', () =>
        this.#client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentType: contentType,
            CacheControl: cacheControl,
          }),
        ),
      ),
    );
    return this.#uploaded(key, body.length);
  }

  /** Deletes an object (deleting a missing key succeeds, as S3 answers). */
  async deleteKey(key: string): Promise<void> {
    await this.#guard('delete', key, () =>
      this.#retrying(key)('delete', () =>
        this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })),
      ),
    );
    this.#stats.deletedObjects++;
    this.#log.debug({ key }, 'object deleted');
  }

  close(): void {
    this.#client.destroy();
  }

  #uploaded(key: string, sizeBytes: number): PutResult {
    this.#stats.uploadedObjects++;
    this.#stats.uploadedBytes += sizeBytes;
    this.#log.debug({ key, sizeBytes }, 'object uploaded');
    return { key, url: this.objectUrl(key), sizeBytes };
  }

  /** Counts and logs a failure for good, and turns it into an SfuError carrying the reason. */
  async #guard(operation: 'upload' | 'delete', key: string, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (err) {
      this.#stats.errors++;
      const reason = `${operation} of ${key} to bucket ${this.bucket} failed: ${describeStorageError(err)}`;
      this.#log.warn({ key, operation, reason }, 'storage request failed');
      throw new SfuError('unavailable', reason, { cause: err });
    }
  }

  #retrying(key: string) {
    return <T>(label: string, request: () => Promise<T>): Promise<T> =>
      withRetries(request, this.#retry, (err, attempt, delayMs) => {
        this.#stats.retries++;
        const reason = describeStorageError(err);
        this.#log.info({ key, request: label, attempt, delayMs, reason }, 'storage request retried');
      });
  }
}

/**
 * The SDK's own warnings (e.g. "error in a non-retryable streaming request", which our retries
 * cover) at debug, as text only: its info output would carry request and response objects.
 */
function sdkLogger(log: Logger) {
  const text = (message: unknown) =>
    log.debug({ sdk: typeof message === 'string' ? message : '' }, 'sdk warning');
  const ignore = () => undefined;
  return { trace: ignore, debug: ignore, info: ignore, warn: text, error: text };
}

async function fileSize(localPath: string, key: string): Promise<number> {
  try {
    return (await stat(localPath)).size;
  } catch (err) {
    throw new SfuError('not_found', `upload of ${key}: local file missing`, { cause: err });
  }
}
