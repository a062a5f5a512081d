import { z } from 'zod';
import { isSfuError } from '../../lib/errors.ts';
import { userJson } from '../../store/wire.ts';
import type { ApiDeps } from '../deps.ts';
import { HttpError } from '../http-errors.ts';
import { type RouteDef, route } from '../route.ts';
import { requireUser, userNotFound } from './common.ts';

export const USER_NAME_TAKEN = 'User name is already taken';

const userNameParams = z.object({
  userName: z
    .string()
    .min(3)
    .max(50)
    .regex(/^[a-zA-Z0-9_.-]+$/, 'may only contain letters, digits, "_", "." and "-"'),
});

const updateUserBody = z.object({
  fullName: z.string().min(1).max(255),
  avatar: z.string().max(500).nullish(),
  bio: z.string().max(2000).nullish(),
});

export function userRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  return [
    route({
      method: 'GET',
      path: '/users',
      auth: 'access',
      tag: 'users',
      summary: "The caller's profile",
      async handler({ userId }) {
        return userJson(await requireUser(store, userId), { viewerId: userId });
      },
    }),
    route({
      method: 'PUT',
      path: '/users',
      auth: 'access',
      tag: 'users',
      summary: "Update the caller's full name, avatar and bio",
      body: updateUserBody,
      async handler({ userId, body }) {
        const user = await store.users.update(userId, {
          fullName: body.fullName,
          // Absent keys leave the column alone; an explicit null clears it.
          ...(body.avatar !== undefined && { avatar: body.avatar }),
          ...(body.bio !== undefined && { bio: body.bio }),
        });
        if (!user) throw userNotFound(userId);
        return userJson(user, { viewerId: userId });
      },
    }),
    route({
      method: 'GET',
      path: '/users/username/:userName',
      auth: 'access',
      tag: 'users',
      summary: 'Whether a user name is taken',
      params: userNameParams,
      async handler({ params }) {
        const taken = await store.users.isUserNameTaken(params.userName);
        // Waterbus answers `is_registered`; the Flutter SDK reads `isRegistered`: send both.
        return { is_registered: taken, isRegistered: taken };
      },
    }),
    route({
      method: 'PUT',
      path: '/users/username/:userName',
      auth: 'access',
      tag: 'users',
      summary: "Change the caller's user name (409 when another user has it)",
      params: userNameParams,
      async handler({ userId, params }) {
        try {
          const user = await store.users.setUserName(userId, params.userName);
          if (!user) throw userNotFound(userId);
          return userJson(user, { viewerId: userId });
        } catch (err) {
          if (isSfuError(err) && err.code === 'already_exists') throw new HttpError(409, USER_NAME_TAKEN);
          throw err;
        }
      },
    }),
  ];
}
