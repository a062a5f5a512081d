import { randomInt } from 'node:crypto';
import { isSfuError, SfuError } from '../lib/errors.ts';
import type { User, UserRepository } from './types.ts';

const USER_NAME_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const USER_NAME_LENGTH = 12;
const LOGIN_ATTEMPTS = 3;

/** A fresh user name: 12 characters of [a-z0-9] (Waterbus used nanoid(12)). */
export function randomUserName(): string {
  return Array.from({ length: USER_NAME_LENGTH }, () => USER_NAME_ALPHABET[randomInt(36)]).join('');
}

/**
 * The user with this external id, created on first use (Waterbus login, join tokens). A
 * concurrent creation for the same external id, or a user-name collision, is retried.
 */
export async function findOrCreateUser(
  users: UserRepository,
  identity: { externalId: string; fullName: string | null },
): Promise<User> {
  for (let attempt = 0; attempt < LOGIN_ATTEMPTS; attempt++) {
    const existing = await users.findByExternalId(identity.externalId);
    if (existing) return existing;
    try {
      return await users.create({ ...identity, userName: randomUserName() });
    } catch (err) {
      if (!isSfuError(err) || err.code !== 'already_exists') throw err;
    }
  }
  throw new SfuError('unavailable', 'Could not create the user, try again');
}
