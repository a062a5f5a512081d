import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isSfuError } from '../../lib/errors.ts';
import { MemberRole, RoomType } from '../../store/types.ts';
import { userJson } from '../../store/wire.ts';
import type { ApiDeps } from '../deps.ts';
import { HttpError } from '../http-errors.ts';
import { DEFAULT_ROUTE_RATE_LIMITS, IpRateLimit } from '../ip-rate-limit.ts';
import { fullRoomView } from '../room-views.ts';
import { type RouteDef, route } from '../route.ts';
import { issueTokens, randomUserName } from './auth.ts';
import { requireUser } from './common.ts';

/**
 * Guest access for the demo meeting page (served at `/`): anyone may get a guest user with a
 * display name, its tokens and the client API key, and open a room by a name of their choosing.
 *
 * This makes the server an open meeting service: the API key stops being a secret (and with it,
 * since Waterbus login trusts the external id, any user whose external id is known can be logged
 * into; strict login mode closes that hole and turns guest login off). On by default for
 * `bbmeet start`; set `GUEST_LOGIN_ENABLED=false` on servers whose API key must stay private
 * (then the demo page asks for a token instead).
 */

const guestLoginBody = z.object({ fullName: z.string().trim().min(1).max(60) });

/** A room "name" as the demo's URL carries it: lower-case letters, digits, `-` and `_`. */
const roomCode = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,49}$/, 'expected 1-50 characters: a-z, 0-9, - and _');
const guestRoomBody = z.object({ code: roomCode, title: z.string().trim().min(1).max(255).optional() });

const CREATE_ATTEMPTS = 3;

export function guestRoutes(deps: ApiDeps): RouteDef[] {
  const { store, auth } = deps;
  const limits = deps.rateLimits ?? DEFAULT_ROUTE_RATE_LIMITS;
  const loginLimit = new IpRateLimit(limits.guestLoginPerMinute);
  const roomsLimit = new IpRateLimit(limits.guestRoomsPerMinute);
  return [
    route({
      method: 'POST',
      path: '/guest/login',
      auth: 'public',
      tag: 'guest',
      summary:
        'Demo guest login (GUEST_LOGIN_ENABLED): a new user with this name, its tokens and the API key',
      body: guestLoginBody,
      successStatus: 201,
      async handler({ body, request }) {
        loginLimit.check(request);
        const user = await store.users.create({
          fullName: body.fullName,
          externalId: `guest:${randomUUID()}`,
          userName: randomUserName(),
        });
        return {
          ...issueTokens(auth, user),
          user: userJson(user, { viewerId: user.id }),
          apiKey: auth.apiKey,
        };
      },
    }),
    route({
      method: 'POST',
      path: '/guest/rooms',
      auth: 'access',
      tag: 'guest',
      summary:
        'Demo rooms (GUEST_LOGIN_ENABLED): the room with this code, created (caller as host) if missing',
      body: guestRoomBody,
      async handler({ userId, body, request }) {
        roomsLimit.check(request);
        await requireUser(store, userId);
        for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
          const existing = await store.rooms.findByCode(body.code);
          if (existing) {
            // Opening a demo room by its name is opening it by its code: the caller may join it.
            await store.grants.add(existing.id, userId);
            return fullRoomView(store, existing, { viewerId: userId });
          }
          try {
            const room = await store.transaction(async (tx) => {
              const room = await tx.rooms.create({
                title: body.title ?? body.code,
                passwordHash: null,
                avatar: null,
                code: body.code,
                type: RoomType.Conferencing,
              });
              await tx.members.add({ roomId: room.id, userId, role: MemberRole.Owner });
              return room;
            });
            return fullRoomView(store, room, { viewerId: userId });
          } catch (err) {
            // Someone created it at the same moment: read it again.
            if (!isSfuError(err) || err.code !== 'already_exists') throw err;
          }
        }
        throw new HttpError(409, `Room ${body.code} could not be created, try again`);
      },
    }),
  ];
}
