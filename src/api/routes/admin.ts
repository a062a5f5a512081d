import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ParticipantId, RoomId } from '../../lib/ids.ts';
import { ParticipantStatus, type Room, type User } from '../../store/types.ts';
import { adminCaller, participantOf, requireAdminOf, roomByIdOrCode } from '../admin-access.ts';
import { adminParticipantViews, adminRoomView } from '../admin-views.ts';
import type { AdminControl, ApiDeps } from '../deps.ts';
import { HttpError } from '../http-errors.ts';
import { type RouteDef, route } from '../route.ts';
import { pathId } from './common.ts';

/**
 * The operator's control of live rooms (docs/admin.md), as LiveKit's RoomService: list rooms,
 * inspect a room's participants and tracks, mute, remove, end a room, set a participant's
 * metadata. The server secret reaches every room, a join token with `roomAdmin` its own
 * (admin-access.ts). Rooms are named by id or code.
 */

/** The event that tells a room a participant's metadata (a bbmeet extension Waterbus clients ignore). */
export const METADATA_EVENT = 'room.participant_metadata';
export const MAX_METADATA_BYTES = 4096;

const roomParams = z.object({ room: z.string().regex(/^[\w-]{1,40}$/, 'expected a room id or code') });
const participantParams = roomParams.extend({ participantId: pathId });

const muteBody = z
  .object({ audio: z.boolean().optional(), video: z.boolean().optional() })
  .strict()
  .refine((b) => b.audio === true || b.video === true, { message: 'set audio or video (or both) to true' });

const metadataBody = z
  .object({
    metadata: z
      .string()
      .refine((s) => Buffer.byteLength(s) <= MAX_METADATA_BYTES, {
        message: `metadata is longer than ${MAX_METADATA_BYTES} bytes`,
      })
      .refine(isJson, { message: 'metadata must be a JSON text' }),
  })
  .strict();

const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const NO_ADMIN = 'The admin API is not available on this server';

export function adminRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  const control = (): AdminControl => {
    if (!deps.admin) throw new HttpError(501, NO_ADMIN);
    return deps.admin;
  };
  /** The room named by the path, once the caller may administer it. */
  const authorised = async (request: FastifyRequest, ref: string): Promise<Room> => {
    const caller = await adminCaller(deps, request);
    const room = await roomByIdOrCode(store, ref);
    requireAdminOf(caller, room);
    return room;
  };
  return [
    route({
      method: 'GET',
      path: '/admin/rooms',
      auth: 'public',
      tag: 'admin',
      summary:
        'Live rooms (with active participants): id, code, title, participant count, SFU node (server secret)',
      query: listQuery,
      async handler(ctx) {
        const caller = await adminCaller(deps, ctx.request);
        // Why: a join token administers one room; the list of every room is the operator's.
        if (typeof caller !== 'symbol') throw new HttpError(403, 'Listing rooms needs the server secret');
        const live = await store.participants.listLiveRooms(ctx.query.limit);
        const rooms = await Promise.all(live.map((l) => store.rooms.findById(l.roomId)));
        return {
          rooms: live.flatMap((l, i) => {
            const room = rooms[i];
            return room ? [adminRoomView(room, l)] : [];
          }),
        };
      },
    }),
    route({
      method: 'GET',
      path: '/admin/rooms/:room/participants',
      auth: 'public',
      tag: 'admin',
      summary:
        "A room's participants with their tracks, layers, rates and SFU node (server secret or roomAdmin)",
      params: roomParams,
      async handler(ctx) {
        const room = await authorised(ctx.request, ctx.params.room);
        const admin = control();
        const [rows, inspection] = await Promise.all([
          store.participants.listByRoom(room.id),
          admin.sfu.inspectRoom(RoomId(String(room.id))),
        ]);
        const users = new Map<number, User>();
        for (const row of rows) {
          const user = users.get(row.userId) ?? (await store.users.findById(row.userId));
          if (user) users.set(row.userId, user);
        }
        const active = rows.filter((r) => r.status === ParticipantStatus.Active);
        const nodeIds = [...new Set(active.flatMap((r) => (r.nodeId ? [r.nodeId] : [])))];
        return {
          room: adminRoomView(room, { roomId: room.id, participants: active.length, nodeIds }),
          nodeId: inspection.nodeId || null,
          participants: adminParticipantViews(rows, users, inspection),
        };
      },
    }),
    route({
      method: 'POST',
      path: '/admin/rooms/:room/participants/:participantId/mute',
      auth: 'public',
      tag: 'admin',
      summary:
        "Mute a participant's audio or video: the SFU stops forwarding it, the room gets room.audio_enabled / room.video_enabled",
      params: participantParams,
      body: muteBody,
      async handler(ctx) {
        const room = await authorised(ctx.request, ctx.params.room);
        const row = await participantOf(store, room, ctx.params.participantId);
        const kinds = { audio: ctx.body.audio === true, video: ctx.body.video === true };
        control().participants.mute(RoomId(String(room.id)), ParticipantId(String(row.id)), kinds);
        deps.logger.info({ roomId: room.id, participantId: row.id, ...kinds }, 'admin muted a participant');
        return { participantId: String(row.id), muted: kinds };
      },
    }),
    route({
      method: 'DELETE',
      path: '/admin/rooms/:room/participants/:participantId',
      auth: 'public',
      tag: 'admin',
      summary: 'Remove a participant: its client is told (system.error room.removed), the room sees it leave',
      params: participantParams,
      async handler(ctx) {
        const room = await authorised(ctx.request, ctx.params.room);
        const row = await participantOf(store, room, ctx.params.participantId);
        control().participants.remove(RoomId(String(room.id)), ParticipantId(String(row.id)), 'removed');
        // A row no socket holds (dropped, or joined and never connected) is left here.
        await store.participants.delete(row.id);
        deps.logger.info({ roomId: room.id, participantId: row.id }, 'admin removed a participant');
        return { participantId: String(row.id), removed: true };
      },
    }),
    route({
      method: 'POST',
      path: '/admin/rooms/:room/end',
      auth: 'public',
      tag: 'admin',
      summary: 'End the meeting: every participant removed; the room stays and can be joined again',
      params: roomParams,
      async handler(ctx) {
        const room = await authorised(ctx.request, ctx.params.room);
        const admin = control();
        const rows = await store.participants.listByRoom(room.id);
        for (const row of rows)
          admin.participants.remove(RoomId(String(room.id)), ParticipantId(String(row.id)), 'ended');
        for (const row of rows) await store.participants.delete(row.id);
        deps.logger.info({ roomId: room.id, removed: rows.length }, 'admin ended a room');
        return { roomId: room.id, removed: rows.map((r) => String(r.id)) };
      },
    }),
    route({
      method: 'PUT',
      path: '/admin/rooms/:room/participants/:participantId/metadata',
      auth: 'public',
      tag: 'admin',
      summary: `Set a participant's metadata (JSON text, at most ${MAX_METADATA_BYTES} bytes); the room gets ${METADATA_EVENT}`,
      params: participantParams,
      body: metadataBody,
      async handler(ctx) {
        const room = await authorised(ctx.request, ctx.params.room);
        const row = await participantOf(store, room, ctx.params.participantId);
        await store.participants.setMetadata(row.id, ctx.body.metadata);
        const payload = { participantId: String(row.id), metadata: ctx.body.metadata };
        // Why: a hidden participant is never announced to the room.
        if (!row.hidden) deps.broadcaster.toRoom(RoomId(String(room.id)), METADATA_EVENT, payload);
        return payload;
      },
    }),
  ];
}
