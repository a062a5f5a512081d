import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../lib/logger.ts';
import { StoreUnavailableError } from '../store/store-errors.ts';
import { retryWhileStoreUnavailable } from './store-retry.ts';

describe('retryWhileStoreUnavailable', () => {
  it('runs the write again while the database is unavailable, and returns its result once it works', async () => {
    let calls = 0;
    const result = await retryWhileStoreUnavailable(
      async () => {
        calls++;
        if (calls < 3) throw new StoreUnavailableError('unreachable');
        return 'written';
      },
      silentLogger(),
      [1, 1, 1],
    );
    assert.deepEqual({ result, calls }, { result: 'written', calls: 3 });
  });

  it('gives up after the last wait with the unavailable error', async () => {
    let calls = 0;
    await assert.rejects(
      retryWhileStoreUnavailable(
        async () => {
          calls++;
          throw new StoreUnavailableError('unreachable');
        },
        silentLogger(),
        [1, 1],
      ),
      StoreUnavailableError,
    );
    assert.equal(calls, 3);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await assert.rejects(
      retryWhileStoreUnavailable(
        async () => {
          calls++;
          throw new Error('constraint violated');
        },
        silentLogger(),
        [1, 1],
      ),
      /constraint violated/,
    );
    assert.equal(calls, 1);
  });
});
