import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { prepareStartupMemoryRelease, releaseStartupMemory } from './startup-memory.ts';

const newSpaceBytes = () =>
  getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.physical_space_size;

/** What a worker started now sees: whether its global scope has gc(). */
async function workerHasGc(): Promise<boolean> {
  const worker = new Worker(
    'require("node:worker_threads").parentPort.postMessage(typeof gc === "function")',
    {
      eval: true,
    },
  );
  try {
    return await new Promise<boolean>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

describe('startup memory', () => {
  it('workers started between prepare and release get gc(); release shrinks the young generation and hides gc() again', async () => {
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'run without --expose-gc');
    prepareStartupMemoryRelease();
    assert.equal(await workerHasGc(), true);
    // Objects that survive scavenges make V8 grow the young generation, as start-up does.
    const kept: Array<{ i: number }[]> = [];
    for (let round = 0; round < 40; round++) kept.push(Array.from({ length: 20_000 }, (_, i) => ({ i })));
    const before = newSpaceBytes();
    kept.length = 0;
    releaseStartupMemory();
    const after = newSpaceBytes();
    assert.ok(after < before, `young generation ${before} → ${after} bytes`);
    assert.ok(after <= 2 * 2 ** 20, `young generation ${after} bytes after the collection`);
    assert.equal(runInNewContext('typeof gc'), 'undefined', 'a context created after release has no gc()');
    assert.equal(await workerHasGc(), false, 'nor has a worker started after it');
    // Nothing left to do: a second release is harmless.
    releaseStartupMemory();
  });
});
