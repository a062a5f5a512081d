import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSfuError } from '../lib/errors.ts';
import { ROOM_CODE_ATTEMPTS, ROOM_CODE_PATTERN, randomRoomCode, uniqueRoomCode } from './room-code.ts';

describe('room codes', () => {
  it('look like xxx-xxxx-xxx in lowercase letters and vary', () => {
    const codes = new Set(Array.from({ length: 200 }, randomRoomCode));
    for (const code of codes) assert.match(code, ROOM_CODE_PATTERN);
    assert.ok(codes.size > 195);
    const letters = new Set([...codes].join('').replaceAll('-', ''));
    assert.equal(letters.size, 26, 'every letter appears');
  });

  it('retries on collision and returns the first free code', async () => {
    const taken = new Set(['aaa-aaaa-aaa', 'bbb-bbbb-bbb']);
    const sequence = ['aaa-aaaa-aaa', 'bbb-bbbb-bbb', 'ccc-cccc-ccc'];
    const asked: string[] = [];
    const code = await uniqueRoomCode(
      async (c) => {
        asked.push(c);
        return taken.has(c);
      },
      () => sequence.shift() ?? 'zzz-zzzz-zzz',
    );
    assert.equal(code, 'ccc-cccc-ccc');
    assert.deepEqual(asked, ['aaa-aaaa-aaa', 'bbb-bbbb-bbb', 'ccc-cccc-ccc']);
  });

  it(`gives up after ${ROOM_CODE_ATTEMPTS} taken codes`, async () => {
    let calls = 0;
    await assert.rejects(
      uniqueRoomCode(async () => {
        calls++;
        return true;
      }),
      (err) => isSfuError(err) && err.code === 'unavailable',
    );
    assert.equal(calls, ROOM_CODE_ATTEMPTS);
  });
});
