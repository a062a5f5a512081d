import { randomInt } from 'node:crypto';
import { SfuError } from '../lib/errors.ts';

/** Room codes as Waterbus makes them: `xxx-xxxx-xxx`, lowercase letters, from a CSPRNG. */
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const GROUPS = [3, 4, 3] as const;
export const ROOM_CODE_ATTEMPTS = 10;
export const ROOM_CODE_PATTERN = /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/;

export function randomRoomCode(): string {
  return GROUPS.map((n) => Array.from({ length: n }, () => LETTERS[randomInt(LETTERS.length)]).join('')).join(
    '-',
  );
}

/**
 * A code no room uses yet, trying up to 10 random codes (26^10 possibilities make a second try
 * already rare). Throws `unavailable` if all of them were taken.
 */
export async function uniqueRoomCode(
  exists: (code: string) => Promise<boolean>,
  generate: () => string = randomRoomCode,
): Promise<string> {
  for (let attempt = 0; attempt < ROOM_CODE_ATTEMPTS; attempt++) {
    const code = generate();
    if (!(await exists(code))) return code;
  }
  throw new SfuError('unavailable', 'Could not generate a unique room code, try again');
}
