import type { Timestamp } from './types.ts';

/** `2025-07-23T12:00:00.123000`: UTC, no offset, microseconds (what Waterbus clients parse). */
export function toTimestamp(date: Date): Timestamp {
  return `${date.toISOString().slice(0, 23)}000`;
}

export function nowTimestamp(): Timestamp {
  return toTimestamp(new Date());
}

/**
 * A timestamp as stored back in wire form: SQLite gives our own strings back; PostgreSQL gives
 * `2025-07-23 12:00:00.123` (its text form, with 0–6 fractional digits).
 */
export function normalizeTimestamp(value: unknown): Timestamp | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return toTimestamp(value);
  const text = String(value);
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?/.exec(text);
  if (!m) return text;
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0')}`;
}
