import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { withFileBody } from './file-body.ts';

/** S3 refuses parts under 5 MiB (except the last one). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface MultipartFile {
  bucket: string;
  key: string;
  localPath: string;
  sizeBytes: number;
  contentType: string;
  cacheControl: string | undefined;
  partBytes: number;
}

/** Runs one request with the uploader's retries (a fresh request body on each attempt). */
export type Retrying = <T>(label: string, request: () => Promise<T>) => Promise<T>;

/**
 * Uploads a file in parts, each one streamed from its byte range on disk (never buffered whole),
 * one after the other, each retried on its own. On failure the upload is aborted so the bucket
 * keeps no orphan parts, and the error is rethrown.
 */
export async function putFileInParts(
  client: S3Client,
  file: MultipartFile,
  retrying: Retrying,
): Promise<void> {
  const { bucket: Bucket, key: Key } = file;
  const created = await retrying('create multipart', () =>
    client.send(
      new CreateMultipartUploadCommand({
        Bucket,
        Key,
        ContentType: file.contentType,
        CacheControl: file.cacheControl,
      }),
    ),
  );
  const UploadId = created.UploadId;
  try {
    const parts = await uploadParts(client, file, UploadId!, retrying);
    await retrying('complete multipart', () =>
      client.send(
        new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
      ),
    );
  } catch (err) {
    // Best effort: an abort that fails too leaves parts the bucket's lifecycle rules expire.
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    throw err;
  }
}

async function uploadParts(
  client: S3Client,
  file: MultipartFile,
  uploadId: string,
  retrying: Retrying,
): Promise<{ PartNumber: number; ETag: string | undefined }[]> {
  const parts: { PartNumber: number; ETag: string | undefined }[] = [];
  for (let start = 0, PartNumber = 1; start < file.sizeBytes; start += file.partBytes, PartNumber++) {
    const end = Math.min(start + file.partBytes, file.sizeBytes);
    const reply = await retrying(`part ${PartNumber}`, () =>
      withFileBody(file.localPath, { start, end: end - 1 }, (Body) =>
        client.send(
          new UploadPartCommand({
            Bucket: file.bucket,
            Key: file.key,
            UploadId: uploadId,
            PartNumber,
            Body,
            ContentLength: end - start,
          }),
        ),
      ),
    );
    parts.push({ PartNumber, ETag: reply.ETag });
  }
  return parts;
}
