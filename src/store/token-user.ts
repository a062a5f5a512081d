import { UserId } from '../lib/ids.ts';
import type { UserToken } from '../lib/jwt.ts';
import type { User, UserRepository } from './types.ts';

/**
 * The user a verified token names, if that user still exists (lookups skip soft-deleted users)
 * and the token's version is the user's current one (a logout increments it). One query by
 * primary key: what every authenticated request and socket handshake costs.
 */
export async function currentTokenUser(users: UserRepository, token: UserToken): Promise<User | undefined> {
  const user = await users.findById(UserId(token.userId));
  return user && user.tokenVersion === token.tokenVersion ? user : undefined;
}
