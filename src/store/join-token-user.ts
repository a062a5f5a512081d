import type { JoinClaims, JoinGrants } from '../lib/join-token.ts';
import { findOrCreateUser } from './login-user.ts';
import type { Store, User } from './types.ts';

/** What a join token lets its holder do: one room, with these grants. */
export interface RoomGrant {
  roomId: number;
  roomCode: string;
  grants: JoinGrants;
}

/**
 * The user and room of a verified join token: the user is the token's identity (an externalId,
 * created on first use as POST /auth does), the room must exist. Undefined when it does not.
 */
export async function joinTokenUser(
  store: Store,
  claims: JoinClaims,
): Promise<{ user: User; grant: RoomGrant } | undefined> {
  const room = await store.rooms.findByCode(claims.room);
  if (!room) return undefined;
  const user = await findOrCreateUser(store.users, {
    externalId: claims.identity,
    fullName: claims.name ?? null,
  });
  return { user, grant: { roomId: room.id, roomCode: room.code, grants: claims.grants } };
}
