import type { Clock } from '../lib/clock.ts';
import { SfuError } from '../lib/errors.ts';
import type { Timestamp } from './types.ts';

/** The part of a Clock the store needs; tests pass a manual one to get equal or ordered times. */
export type NowSource = Pick<Clock, 'nowMs'>;

/** `2025-07-23T12:00:00.123000`: UTC, no offset, microseconds (what Waterbus clients parse). */
export function toTimestamp(date: Date): Timestamp {
  return `${date.toISOString().slice(0, 23)}000`;
}

export function nowTimestamp(clock?: NowSource): Timestamp {
  return toTimestamp(new Date(clock ? clock.nowMs() : Date.now()));
}

const WIRE_LIKE = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Any timestamp the store reads or is given, in wire form. SQLite gives our own strings back;
 * PostgreSQL gives its text form `2025-07-23 12:00:00.123` (0–6 fractional digits, trailing zeros
 * dropped). A value with an explicit offset is converted to UTC (to millisecond precision).
 * Text that is not a timestamp is returned unchanged.
 */
export function normalizeTimestamp(value: unknown): Timestamp | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return toTimestamp(value);
  const text = String(value);
  const m = WIRE_LIKE.exec(text);
  if (!m) return text;
  const [, date, time, fraction = '', offset] = m;
  if (offset && offset !== 'Z' && !/^[+-]00:?00$|^[+-]00$/.test(offset)) {
    const parsed = new Date(`${date}T${time}.${fraction.padEnd(3, '0').slice(0, 3)}${withColon(offset)}`);
    return Number.isNaN(parsed.getTime()) ? text : toTimestamp(parsed);
  }
  return `${date}T${time}.${fraction.padEnd(6, '0')}`;
}

function withColon(offset: string): string {
  if (offset.length === 3) return `${offset}:00`;
  return offset.includes(':') ? offset : `${offset.slice(0, 3)}:${offset.slice(3)}`;
}

/**
 * A timestamp given to the store as a query parameter, in wire form: on SQLite the columns are
 * compared as text, so `…Z` or 3 fractional digits would compare wrongly.
 */
export function timestampParam(value: Timestamp): Timestamp {
  const normalized = normalizeTimestamp(value);
  if (normalized === null || !WIRE_FORM.test(normalized)) {
    throw new SfuError('invalid_argument', `not a timestamp: ${JSON.stringify(value)}`);
  }
  return normalized;
}

const WIRE_FORM = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;
