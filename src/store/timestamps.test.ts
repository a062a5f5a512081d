import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeTimestamp, toTimestamp } from './timestamps.ts';

describe('timestamps', () => {
  it('toTimestamp() writes UTC without offset, with microseconds', () => {
    assert.equal(toTimestamp(new Date('2025-07-23T12:00:00.123Z')), '2025-07-23T12:00:00.123000');
  });

  it('normalizeTimestamp() turns PostgreSQL text into the wire form', () => {
    assert.equal(normalizeTimestamp('2025-07-23 12:00:00.123'), '2025-07-23T12:00:00.123000');
    assert.equal(normalizeTimestamp('2025-07-23 12:00:00'), '2025-07-23T12:00:00.000000');
    assert.equal(normalizeTimestamp('2025-07-23 12:00:00.123456'), '2025-07-23T12:00:00.123456');
    assert.equal(normalizeTimestamp('2025-07-23T12:00:00.123000'), '2025-07-23T12:00:00.123000');
    assert.equal(normalizeTimestamp(null), null);
  });

  it('wire timestamps sort as text in time order', () => {
    const a = toTimestamp(new Date('2025-07-23T09:59:59.999Z'));
    const b = toTimestamp(new Date('2025-07-23T10:00:00.000Z'));
    assert.ok(a < b);
  });
});
