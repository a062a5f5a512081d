import { z } from 'zod';
import { isSfuError } from '../../lib/errors.ts';
import { UserId } from '../../lib/ids.ts';
import { MemberRole, RoomStatus } from '../../store/types.ts';
import type { ApiDeps } from '../deps.ts';
import { HttpError } from '../http-errors.ts';
import {
  endRoomAccess,
  type RoomAccessDeps,
  replaceOlderParticipants,
  requireJoinAccess,
} from '../room-access.ts';
import { RoomPasswordGuard } from '../room-password-guard.ts';
import { fullRoomView, roomView } from '../room-views.ts';
import { type RouteDef, route } from '../route.ts';
import { bodyId, requireOwner, requireRoom, requireUser, roomIdParams, userNotFound } from './common.ts';

/** Membership routes of a room: leave, add/remove members (host), join (creates a participant). */

export const MEMBER_NOT_FOUND = 'Member not found';
export const HOST_CANNOT_LEAVE = 'Host not allowed to leave the room';
export const ALREADY_MEMBER = 'User already in the room';
export { WRONG_PASSWORD } from '../room-access.ts';
export const ROOM_NOT_ACTIVE = 'Room is not active';

const memberBody = z.object({ userId: bodyId.transform((id) => UserId(id)) });
const joinBody = z.object({ password: z.string().max(255).nullish() });

export function roomMemberRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  const access: RoomAccessDeps = {
    store,
    guard: deps.passwordGuard ?? new RoomPasswordGuard(),
    broadcaster: deps.broadcaster,
    logger: deps.logger,
  };
  return [
    route({
      method: 'DELETE',
      path: '/rooms/:roomId',
      auth: 'access',
      tag: 'rooms',
      summary: 'Leave a room (the host cannot leave)',
      params: roomIdParams,
      async handler({ userId, params }) {
        const room = await requireRoom(store, params.roomId);
        const member = await store.members.find(room.id, userId);
        if (!member) throw new HttpError(404, MEMBER_NOT_FOUND);
        if (member.role === MemberRole.Owner) throw new HttpError(403, HOST_CANNOT_LEAVE);
        await store.members.remove(member.id);
        await endRoomAccess(access, room.id, userId, 'left');
        return fullRoomView(store, room, { viewerId: userId });
      },
    }),
    route({
      method: 'POST',
      path: '/rooms/:roomId/members',
      auth: 'access',
      tag: 'rooms',
      summary: 'Add a user to the room as an attendee (host only)',
      params: roomIdParams,
      body: memberBody,
      successStatus: 201,
      async handler({ userId, grant, params, body }) {
        const room = await requireRoom(store, params.roomId);
        await requireOwner(store, room, userId, grant);
        const target = await store.users.findById(body.userId);
        if (!target) throw userNotFound(body.userId);
        if (await store.members.find(room.id, target.id)) throw new HttpError(409, ALREADY_MEMBER);
        try {
          await store.members.add({ roomId: room.id, userId: target.id, role: MemberRole.Attendee });
        } catch (err) {
          if (isSfuError(err) && err.code === 'already_exists') throw new HttpError(409, ALREADY_MEMBER);
          throw err;
        }
        return fullRoomView(store, room, { viewerId: userId });
      },
    }),
    route({
      method: 'DELETE',
      path: '/rooms/:roomId/members',
      auth: 'access',
      tag: 'rooms',
      summary: 'Remove a member (host only; JSON body {userId})',
      params: roomIdParams,
      body: memberBody,
      async handler({ userId, grant, params, body }) {
        const room = await requireRoom(store, params.roomId);
        await requireOwner(store, room, userId, grant);
        const member = await store.members.find(room.id, body.userId);
        if (!member) throw new HttpError(404, MEMBER_NOT_FOUND);
        await store.members.remove(member.id);
        await endRoomAccess(access, room.id, member.userId, 'removed');
        return fullRoomView(store, room, { viewerId: userId });
      },
    }),
    route({
      method: 'POST',
      path: '/rooms/:roomId/join',
      auth: 'access',
      tag: 'rooms',
      summary:
        'Join a room: creates the participant whose id the socket uses, replacing an older one of the caller (members skip the password; others open the room by its code first)',
      params: roomIdParams,
      body: joinBody,
      successStatus: 201,
      async handler({ userId, grant, params, body, request }) {
        const room = await requireRoom(store, params.roomId);
        if (room.status !== RoomStatus.Active) throw new HttpError(409, ROOM_NOT_ACTIVE);
        await requireUser(store, userId);
        await requireJoinAccess(access, room, userId, { password: body.password, ip: request.ip, grant });
        const hidden = grant?.grants.hidden === true;
        const participant = await store.participants.create({ roomId: room.id, userId, hidden });
        await replaceOlderParticipants(access, room.id, userId, participant.id);
        const [members, publishing] = await Promise.all([
          store.members.listByRoom(room.id),
          store.participants.listByRoom(room.id, { publishingOnly: true }),
        ]);
        const participants = [...publishing.filter((p) => p.id !== participant.id), participant];
        return roomView(store, room, { members, participants }, { viewerId: userId });
      },
    }),
  ];
}
