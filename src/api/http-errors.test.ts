import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SfuError } from '../lib/errors.ts';
import { STORE_RETRY_AFTER_S, StoreUnavailableError } from '../store/index.ts';
import { toHttpError } from './http-errors.ts';

describe('toHttpError', () => {
  it('a database out of reach is a 503 with Retry-After and a clear message, not a bare 500', () => {
    for (const failure of ['unreachable', 'io_error', 'read_only'] as const) {
      const reply = toHttpError(new StoreUnavailableError(failure, { cause: new Error('driver detail') }));
      assert.equal(reply.status, 503, failure);
      assert.equal(reply.retryAfterS, STORE_RETRY_AFTER_S);
      assert.equal(reply.expected, true);
      assert.match(reply.message, /^the database /);
      assert.doesNotMatch(reply.message, /driver detail/);
    }
  });

  it('a full disk is a 507 Insufficient Storage without Retry-After', () => {
    const reply = toHttpError(new StoreUnavailableError('storage_full'));
    assert.deepEqual(reply, {
      status: 507,
      message: 'the database storage is full: nothing was stored',
      expected: true,
    });
  });

  it('other errors keep their mapping (unknown ones a 500 that is logged)', () => {
    assert.equal(toHttpError(new SfuError('unavailable', 'media')).status, 503);
    assert.deepEqual(toHttpError(new Error('bug')), {
      status: 500,
      message: 'Internal server error',
      expected: false,
    });
  });
});
