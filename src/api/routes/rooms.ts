import { z } from 'zod';
import { MemberRole, RoomStatus, RoomType } from '../../store/types.ts';
import type { ApiDeps } from '../deps.ts';
import { HttpError } from '../http-errors.ts';
import { hashPassword } from '../passwords.ts';
import { uniqueRoomCode } from '../room-code.ts';
import { fullRoomView, roomListView, roomView } from '../room-views.ts';
import { type RouteDef, route } from '../route.ts';
import { ONLY_HOST, pageQuery, requireOwner, requireRoom, requireUser, roomIdParams } from './common.ts';

const ROOM_TYPES = ['Conferencing', 'LiveStreaming'] as const;
const PROTOCOLS = ['SFU', 'HLS', 'MOQ'] as const;

/**
 * Room options: Waterbus' snake_case keys take the enum names; newer SDKs send camelCase keys
 * with the names or the integer values. Validated, but only the room type is stored (on create).
 */
const roomOptions = {
  room_type: z.enum(ROOM_TYPES).nullish(),
  streaming_protocol: z.enum(PROTOCOLS).nullish(),
  capacity: z.int().positive().max(100_000).nullish(),
  roomType: z.union([z.enum(ROOM_TYPES), z.literal([0, 1])]).nullish(),
  streamingProtocol: z.union([z.enum(PROTOCOLS), z.literal([0, 1, 2])]).nullish(),
};

const title = z.string().min(1).max(255);
/** An empty password means "no password" (stored as NULL, so anyone with the code may join). */
const password = z.string().max(255).nullish();
const avatar = z.string().max(500).nullish();

const createRoomBody = z.object({ title, password, avatar, ...roomOptions });
const updateRoomBody = z.object({ title: title.optional(), password, avatar, ...roomOptions });
const codeParams = z.object({ code: z.string().min(1).max(50) });

function roomTypeOf(body: z.infer<typeof createRoomBody>): number {
  const value = body.roomType ?? body.room_type;
  return value === 'LiveStreaming' || value === 1 ? RoomType.LiveStreaming : RoomType.Conferencing;
}

async function passwordHashOf(pw: string | null | undefined): Promise<string | null> {
  return pw ? hashPassword(pw) : null;
}

export function roomRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  const listRoute = (path: string, status: number, summary: string) =>
    route({
      method: 'GET',
      path,
      auth: 'access',
      tag: 'rooms',
      summary,
      query: pageQuery,
      async handler({ userId, query }) {
        const rooms = await store.rooms.listForMember(userId, status, query);
        return { rooms: await roomListView(store, rooms, { viewerId: userId }) };
      },
    });
  return [
    route({
      method: 'POST',
      path: '/rooms',
      auth: 'access',
      tag: 'rooms',
      summary: 'Create a room; the caller becomes its host',
      body: createRoomBody,
      successStatus: 201,
      async handler({ userId, body }) {
        await requireUser(store, userId);
        const code = await uniqueRoomCode((c) => store.rooms.codeExists(c));
        const passwordHash = await passwordHashOf(body.password);
        const input = { title: body.title, passwordHash, avatar: body.avatar ?? null, code };
        const { room, member } = await store.transaction(async (tx) => {
          const room = await tx.rooms.create({ ...input, type: roomTypeOf(body) });
          const member = await tx.members.add({ roomId: room.id, userId, role: MemberRole.Owner });
          return { room, member };
        });
        return roomView(store, room, { members: [member], participants: [] }, { viewerId: userId });
      },
    }),
    listRoute('/rooms', RoomStatus.Active, 'Active rooms the caller is a member of, latest activity first'),
    listRoute('/rooms/inactive', RoomStatus.Inactive, 'Deactivated rooms the caller is a member of'),
    route({
      method: 'GET',
      path: '/rooms/:code',
      auth: 'access',
      tag: 'rooms',
      summary: 'A room by its code (to join it: knowing the code is what lets a non-member join)',
      params: codeParams,
      async handler({ userId, params }) {
        const room = await store.rooms.findByCode(params.code);
        if (!room) throw new HttpError(404, `Room with Code ${params.code} not found`);
        await store.grants.add(room.id, userId);
        return fullRoomView(store, room, { viewerId: userId });
      },
    }),
    route({
      method: 'PUT',
      path: '/rooms/:roomId',
      auth: 'access',
      tag: 'rooms',
      summary: 'Update title, avatar or password (host only; an empty password removes it)',
      params: roomIdParams,
      body: updateRoomBody,
      async handler({ userId, grant, params, body }) {
        const room = await requireRoom(store, params.roomId);
        await requireOwner(store, room, userId, grant);
        const changes = {
          ...(body.title !== undefined && { title: body.title }),
          ...(body.avatar !== undefined && { avatar: body.avatar }),
          ...(body.password !== undefined && { passwordHash: await passwordHashOf(body.password) }),
        };
        const updated = Object.keys(changes).length > 0 ? await store.rooms.update(room.id, changes) : room;
        return fullRoomView(store, updated ?? room, { viewerId: userId });
      },
    }),
    route({
      method: 'POST',
      path: '/rooms/:roomId/deactivate',
      auth: 'access',
      tag: 'rooms',
      summary: 'Deactivate a room (host only)',
      params: roomIdParams,
      successStatus: 201,
      async handler({ userId, grant, params }) {
        const room = await requireRoom(store, params.roomId);
        const admin = grant?.roomId === room.id && grant.grants.roomAdmin;
        const member = admin ? undefined : await store.members.find(room.id, userId);
        if (!admin && !member) throw new HttpError(404, 'Member not found');
        if (!admin && member?.role !== MemberRole.Owner) throw new HttpError(403, ONLY_HOST);
        const updated = await store.rooms.setStatus(room.id, RoomStatus.Inactive);
        return fullRoomView(store, updated ?? room, { viewerId: userId });
      },
    }),
  ];
}
