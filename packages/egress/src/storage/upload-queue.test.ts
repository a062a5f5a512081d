import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type UploadJob, UploadQueue } from './upload-queue.ts';

/** A job whose upload finishes when the test says so. */
function gatedJob(key: string, droppable = true) {
  const gate = Promise.withResolvers<void>();
  let started = false;
  const job: UploadJob = {
    key,
    droppable,
    run: () => {
      started = true;
      return gate.promise;
    },
  };
  return {
    job,
    open: () => gate.resolve(),
    fail: () => gate.reject(new Error('down')),
    started: () => started,
  };
}

test('uploadQueue runs at most `concurrency` uploads at once, in push order', async () => {
  const dropped: string[] = [];
  const queue = new UploadQueue({ concurrency: 2, maxQueued: 10, onDropped: (job) => dropped.push(job.key) });
  const jobs = ['a', 'b', 'c'].map((key) => gatedJob(key));
  const outcomes = jobs.map(({ job }) => queue.push(job));
  assert.deepEqual(
    jobs.map((j) => j.started()),
    [true, true, false],
  );
  assert.equal(queue.running, 2);
  jobs[0]!.open();
  assert.equal(await outcomes[0], 'done');
  assert.equal(jobs[2]!.started(), true);
  jobs[1]!.fail();
  jobs[2]!.open();
  assert.deepEqual(await Promise.all(outcomes), ['done', 'failed', 'done']);
  await queue.idle();
  assert.deepEqual(dropped, []);
});

test('uploadQueue drops the oldest droppable waiting job when more than maxQueued wait', async () => {
  const dropped: string[] = [];
  const queue = new UploadQueue({ concurrency: 1, maxQueued: 2, onDropped: (job) => dropped.push(job.key) });
  const running = gatedJob('running');
  queue.push(running.job);
  const playlist = gatedJob('playlist', false);
  const outcomes = [
    queue.push(playlist.job),
    queue.push(gatedJob('seg1').job),
    queue.push(gatedJob('seg2').job),
  ];
  assert.equal(await outcomes[1], 'dropped');
  assert.deepEqual(dropped, ['seg1']);
  assert.equal(queue.waiting, 2);
});

test('uploadQueue drops a stale job instead of starting it, and drop(key) removes a waiting one', async () => {
  const dropped: string[] = [];
  const queue = new UploadQueue({ concurrency: 1, maxQueued: 10, onDropped: (job) => dropped.push(job.key) });
  const first = gatedJob('first');
  queue.push(first.job);
  const stale = queue.push({
    key: 'stale',
    droppable: true,
    isStale: () => true,
    run: async () => undefined,
  });
  const removed = queue.push(gatedJob('removed').job);
  assert.equal(queue.drop('removed'), true);
  assert.equal(queue.drop('first'), false, 'a running upload is not dropped');
  assert.equal(await removed, 'dropped');
  first.open();
  assert.equal(await stale, 'dropped');
  await queue.idle();
  assert.deepEqual(dropped, ['removed', 'stale']);
});
