import { createReadStream, type ReadStream } from 'node:fs';

/**
 * Sends `localPath` (or a byte range of it) as a request body: `send` gets a read stream that is
 * closed when it settles. A request that fails before reading its body (the bucket refused the
 * connection) leaves the stream unread, yet it still opens its file: a file deleted meanwhile (an
 * HLS part the window slid past while its upload was retried) made the stream emit an `error`
 * nobody listened to, an uncaught exception that ends the process. The stream keeps a listener of
 * its own, so that error only reaches the consumers that read it, and it never outlives `send`
 * (an unread stream would also hold its file descriptor open).
 */
export async function withFileBody<T>(
  localPath: string,
  range: { start: number; end: number } | undefined,
  send: (body: ReadStream) => Promise<T>,
): Promise<T> {
  const body = createReadStream(localPath, range);
  body.on('error', () => undefined);
  try {
    return await send(body);
  } finally {
    body.destroy();
  }
}
