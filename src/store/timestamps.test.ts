import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSfuError } from '../lib/errors.ts';
import { normalizeTimestamp, nowTimestamp, timestampParam, toTimestamp } from './timestamps.ts';

describe('timestamps', () => {
  it('toTimestamp() writes UTC without offset, with microseconds', () => {
    assert.equal(toTimestamp(new Date('2025-07-23T12:00:00.123Z')), '2025-07-23T12:00:00.123000');
    assert.equal(toTimestamp(new Date('2025-07-23T14:00:00+02:00')), '2025-07-23T12:00:00.000000');
  });

  it('nowTimestamp() reads the given clock, or the system time', () => {
    const clock = { nowMs: () => Date.parse('2025-01-02T03:04:05.006Z') };
    assert.equal(nowTimestamp(clock), '2025-01-02T03:04:05.006000');
    const before = toTimestamp(new Date());
    const now = nowTimestamp();
    assert.ok(now >= before && now <= toTimestamp(new Date()));
  });

  it('normalizeTimestamp() turns PostgreSQL text into the wire form', () => {
    assert.equal(normalizeTimestamp('2025-07-23 12:00:00.123'), '2025-07-23T12:00:00.123000');
    assert.equal(normalizeTimestamp('2025-07-23 12:00:00'), '2025-07-23T12:00:00.000000');
    assert.equal(normalizeTimestamp('2025-07-23 12:00:00.123456'), '2025-07-23T12:00:00.123456');
    assert.equal(normalizeTimestamp('2025-07-23T12:00:00.123000'), '2025-07-23T12:00:00.123000');
    assert.equal(normalizeTimestamp(new Date('2025-07-23T12:00:00Z')), '2025-07-23T12:00:00.000000');
    assert.equal(normalizeTimestamp(null), null);
    assert.equal(normalizeTimestamp(undefined), null);
  });

  it('normalizeTimestamp() drops Z and converts explicit offsets to UTC', () => {
    assert.equal(normalizeTimestamp('2025-07-23T12:00:00.5Z'), '2025-07-23T12:00:00.500000');
    assert.equal(normalizeTimestamp('2025-07-23T12:00:00+00:00'), '2025-07-23T12:00:00.000000');
    assert.equal(normalizeTimestamp('2025-07-23T14:00:00.250+02:00'), '2025-07-23T12:00:00.250000');
    assert.equal(normalizeTimestamp('2025-07-23 08:30:00-0330'), '2025-07-23T12:00:00.000000');
    assert.equal(normalizeTimestamp('not a time'), 'not a time');
  });

  it('timestampParam() accepts timestamps in any of those forms and rejects the rest', () => {
    assert.equal(timestampParam('2025-07-23T12:00:00Z'), '2025-07-23T12:00:00.000000');
    for (const bad of ['', 'yesterday', '2025-07-23', '2025-13-45Tnope']) {
      assert.throws(
        () => timestampParam(bad),
        (e) => isSfuError(e) && e.code === 'invalid_argument',
      );
    }
  });

  it('wire timestamps sort as text in time order', () => {
    const times = ['2025-07-23T09:59:59.999Z', '2025-07-23T10:00:00.000Z', '2025-07-23T10:00:00.001Z'];
    const wire = times.map((t) => toTimestamp(new Date(t)));
    assert.deepEqual([...wire].reverse().sort(), wire);
  });
});
