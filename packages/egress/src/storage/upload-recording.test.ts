import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { silentLogger } from '../../../../src/lib/logger.ts';
import { LocalBucket } from './local-bucket.ts';
import { S3Uploader } from './s3-uploader.ts';
import { uploadRecording } from './upload-recording.ts';

let dir: string;
let bucket: LocalBucket;
let uploader: S3Uploader;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bbmeet-rec-'));
  bucket = await LocalBucket.start();
  uploader = new S3Uploader({
    storage: bucket.storage,
    logger: silentLogger(),
    retry: { tries: 3, baseDelayMs: 5 },
  });
});
afterEach(async () => {
  uploader.close();
  await bucket.dispose();
  await rm(dir, { recursive: true, force: true });
});

test('uploadRecording() puts the finished file under recordings/ and reports its URL', async () => {
  const path = join(dir, 'room-1_2026.webm');
  const bytes = randomBytes(64 * 1024);
  await writeFile(path, bytes);
  const result = await uploadRecording(uploader, { localPath: path });
  assert.deepEqual(result, {
    ok: true,
    key: 'recordings/room-1_2026.webm',
    url: `${bucket.storage.endpoint}/egress/recordings/room-1_2026.webm`,
    sizeBytes: bytes.length,
  });
  const res = await fetch(result.ok ? result.url : '');
  assert.equal(res.headers.get('content-type'), 'video/webm');
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
  assert.deepEqual(await readFile(path), bytes, 'the local file is kept');
});

test('uploadRecording() with the bucket unreachable returns the reason after the retries and keeps the file', async () => {
  await bucket.stop();
  const path = join(dir, 'rec.mp4');
  await writeFile(path, Buffer.alloc(5000, 3));
  const result = await uploadRecording(uploader, { localPath: path, key: 'r/rec.mp4' });
  assert.equal(result.ok, false);
  assert.equal(result.key, 'r/rec.mp4');
  assert.match(
    result.ok ? '' : result.reason,
    /^upload of r\/rec\.mp4 to bucket egress failed: ECONNREFUSED.*\(3 tries\)$/,
  );
  assert.equal((await readFile(path)).length, 5000);
});

test('uploadRecording() of a missing file says so', async () => {
  const result = await uploadRecording(uploader, { localPath: join(dir, 'none.mp4') });
  assert.deepEqual(result, {
    ok: false,
    key: 'recordings/none.mp4',
    reason: 'upload of recordings/none.mp4: local file missing',
  });
});
