import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../../../src/lib/logger.ts';
import { RoomMasterUpload } from './room-master-upload.ts';
import type { S3Uploader } from './s3-uploader.ts';

/** An uploader whose puts are recorded and complete when the test says. */
function fakeUploader(fail = false) {
  const puts: Array<{ key: string; text: string; done: () => void }> = [];
  const uploader = {
    objectUrl: (key: string) => `http://bucket.test/${key}`,
    putBytes(body: Buffer, key: string) {
      const { promise, resolve, reject } = Promise.withResolvers<unknown>();
      puts.push({
        key,
        text: body.toString(),
        done: () => (fail ? reject(new Error('bucket down')) : resolve({})),
      });
      return promise;
    },
  };
  return { uploader: uploader as unknown as S3Uploader, puts };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('room master playlist in the bucket', () => {
  it('a version goes up only once every participant it lists has its master in the bucket', async () => {
    const { uploader, puts } = fakeUploader();
    const upload = new RoomMasterUpload({ uploader, logger: silentLogger(), key: 'hls/e/master.m3u8' });
    assert.equal(upload.url, 'http://bucket.test/hls/e/master.m3u8');
    upload.publish('v1', ['12']);
    upload.publish('v2', ['12', '13']);
    await tick();
    assert.equal(puts.length, 0, 'participant 12 is not in the bucket yet');
    upload.participantUp('12');
    await tick();
    assert.equal(puts.length, 0, 'the newest version also lists 13');
    upload.participantUp('13');
    assert.deepEqual(
      puts.map((p) => [p.key, p.text]),
      [['hls/e/master.m3u8', 'v2']],
    );
    // One at a time: a version published meanwhile waits for the put under way, older ones skipped.
    upload.publish('v3', ['13']);
    upload.publish('v4', ['13']);
    await tick();
    assert.equal(puts.length, 1);
    puts[0]!.done();
    await tick();
    await tick();
    assert.deepEqual(
      puts.map((p) => p.text),
      ['v2', 'v4'],
    );
    const closed = upload.close();
    puts[1]!.done();
    await closed;
  });

  it('close() leaves out a version still waiting for a participant; a failed put is reported', async () => {
    const { uploader, puts } = fakeUploader(true);
    const failures: string[] = [];
    const upload = new RoomMasterUpload({
      uploader,
      logger: silentLogger(),
      key: 'k',
      onFailed: (reason) => failures.push(reason),
    });
    upload.publish('v1', ['1']);
    upload.participantUp('1');
    puts[0]!.done();
    upload.publish('v2', ['1', '2']);
    await upload.close();
    assert.deepEqual(failures, ['bucket down']);
    assert.equal(puts.length, 1);
    upload.participantUp('2');
    assert.equal(puts.length, 1, 'nothing after close');
  });
});
