import { SfuError } from '../lib/errors.ts';

// Field checks shared by the conversions of received messages (convert.ts, convert-egress.ts).

/** Room and participant ids: database ids or other short tokens, never free text. */
const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

export function invalid(message: string): SfuError {
  return new SfuError('invalid_argument', message);
}

export function id(value: string, field: string): string {
  if (!value) throw invalid(`${field} is required`);
  if (!ID_PATTERN.test(value)) throw invalid(`${field} is not a valid id (1-128 of A-Z a-z 0-9 _ . : @ -)`);
  return value;
}
