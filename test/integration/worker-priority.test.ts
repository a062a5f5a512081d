import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeUdpPort } from '../../bench/free-ports.ts';
import { processThreads } from '../../bench/processes.ts';
import { type SpawnedServer, spawnServer } from '../support/spawned-server.ts';

describe('bbmeet start: the media workers run ahead of the rest (MEDIA_WORKER_NICE)', {
  skip: process.platform !== 'linux',
  timeout: 60_000,
}, () => {
  let server: SpawnedServer;
  before(async () => {
    const port = await freeUdpPort();
    server = await spawnServer({
      MEDIA_ENABLED: 'true',
      MEDIA_WORKERS: '2',
      PORT_MIN_UDP: String(port),
      PORT_MAX_UDP: String(port + 1),
      ICE_TCP_ENABLED: 'false',
      MEDIA_WORKER_NICE: '-5',
    });
  });
  after(() => server?.close());

  it('each media worker thread has the nice value asked (or the refusal is logged); every other thread keeps the process’s', async () => {
    const pid = server.child.pid!;
    const all = processThreads(pid);
    const main = all.find((t) => t.name === 'MainThread' || t.name === 'node')!.nice;
    const media = all.filter((t) => /^media-\d+$/.test(t.name));
    assert.equal(media.length, 2, `threads: ${all.map((t) => t.name).join(', ')}`);
    const raised = media.every((t) => t.nice === main - 5);
    if (!raised) {
      // Not permitted here (no root, CAP_SYS_NICE or RLIMIT_NICE): one warning says why.
      assert.ok(media.every((t) => t.nice === main));
      assert.match(server.stdout() + server.stderr(), /media workers run at their default priority/);
    }
    // The libuv thread pool (file and crypto work of the main thread), V8's threads and the main
    // thread itself are not raised with the workers.
    const others = all.filter((t) => !/^media-\d+$/.test(t.name));
    assert.ok(
      others.some((t) => t.name.startsWith('libuv-worker')),
      'the thread pool exists',
    );
    assert.deepEqual(
      others.filter((t) => t.nice !== main),
      [],
      'only the media workers change their priority',
    );
  });
});
