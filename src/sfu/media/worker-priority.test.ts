import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { applyWorkerNice, type WorkerNiceResult } from './worker-priority.ts';

const moduleUrl = new URL('./worker-priority.ts', import.meta.url).href;

/** Runs applyWorkerNice(nice) in a worker thread; what it gave and the thread's nice value after. */
function inWorker(nice: number): Promise<{ result: WorkerNiceResult; after: number }> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const os = require('node:os');
    import(${JSON.stringify(moduleUrl)}).then(({ applyWorkerNice }) => {
      const result = applyWorkerNice(${nice});
      parentPort.postMessage({ result, after: os.getPriority(0) });
    });`;
  const worker = new Worker(code, { eval: true });
  return new Promise((resolve, reject) => {
    worker.once('message', (m) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe('media worker priority (MEDIA_WORKER_NICE)', { skip: process.platform !== 'linux' }, () => {
  it('changes the worker thread only, never the main thread', async () => {
    const main = os.getPriority(0);
    const lower = Math.min(19, main + 5);
    const { result, after } = await inWorker(lower);
    assert.deepEqual(result, { nice: lower });
    assert.equal(after, lower);
    assert.equal(os.getPriority(0), main, 'the main thread keeps its nice value');
  });

  it('a higher priority is applied where permitted, else refused with the reason and nothing changed', async () => {
    const main = os.getPriority(0);
    const higher = Math.max(-20, main - 5);
    const { result, after } = await inWorker(higher);
    if (result.refused === undefined) {
      assert.equal(result.nice, higher);
      assert.equal(after, higher);
    } else {
      assert.match(result.refused, /^E(ACCES|PERM): .*CAP_SYS_NICE/);
      assert.equal(result.nice, main);
      assert.equal(after, main);
    }
    assert.equal(os.getPriority(0), main);
  });

  it('asking for the value the thread has changes nothing; off Linux nothing is asked', () => {
    const main = os.getPriority(0);
    assert.deepEqual(applyWorkerNice(main), { nice: main });
    const asked: number[] = [];
    const elsewhere = applyWorkerNice(main === 19 ? 18 : main + 1, {
      platform: 'darwin',
      setPriority: (_pid, nice) => asked.push(nice),
    });
    assert.equal(elsewhere.nice, main);
    assert.match(elsewhere.refused ?? '', /needs Linux/);
    assert.deepEqual(asked, []);
    assert.equal(os.getPriority(0), main);
  });

  it('without the privilege (EACCES) the reason names what would grant it', () => {
    const main = os.getPriority(0);
    const denied = Object.assign(new Error('permission denied'), { info: { code: 'EACCES' } });
    const result = applyWorkerNice(main === -20 ? -19 : main - 1, {
      platform: 'linux',
      setPriority: () => {
        throw denied;
      },
    });
    assert.equal(result.nice, main);
    assert.match(result.refused ?? '', /^EACCES: .*CAP_SYS_NICE.*LimitNICE=.*--cap-add SYS_NICE/);
  });
});
