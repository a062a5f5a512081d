import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { egressDisabled } from '../../lib/errors.ts';
import { ParticipantId, RoomId, type UserId } from '../../lib/ids.ts';
import { secretsEqual } from '../../lib/jwt.ts';
import type { EgressInfo, EgressRequest } from '../../protocol/egress.ts';
import type { RoomGrant } from '../../store/join-token-user.ts';
import type { Room } from '../../store/types.ts';
import type { ApiDeps, EgressControl } from '../deps.ts';
import { HttpError } from '../http-errors.ts';
import { type RouteDef, route } from '../route.ts';
import { bodyId, pathId, requireOwner, requireRoom, roomIdParams } from './common.ts';
import { BAD_SERVER_SECRET, JOIN_TOKENS_OFF } from './tokens.ts';

/**
 * Egress control (docs/egress.md): start, list and stop a room's HLS streams, recordings and MoQ
 * broadcasts. Two doors: the room's host (or a join token with `roomAdmin`) under `/rooms/…`, and
 * the operator's backend under `/admin/rooms/…` with the server-only secret
 * (`Authorization: Bearer <AUTH_IDENTITY_SECRET>`), as for minting join tokens.
 */

const startBody = z
  .object({
    kind: z.enum(['hls', 'recording', 'moq']),
    /** One participant's tracks; absent: the whole room. */
    participantId: bodyId.optional(),
    /** Room egress following one participant only. */
    stageId: bodyId.optional(),
    /** Simulcast layer (0 lowest); absent or -1: the highest sent. */
    layer: z.int().min(-1).max(2).optional(),
  })
  .strict();

const egressParams = z.object({ roomId: pathId, egressId: z.string().regex(/^[\w-]{1,64}$/) });

type StartBody = z.infer<typeof startBody>;

/** An EgressInfo with the absolute URLs a player or a download needs. */
export function egressView(info: EgressInfo, request: FastifyRequest): EgressInfo & { urls: string[] } {
  const base = info.baseUrl ?? `${request.protocol}://${request.host}/egress/`;
  // HLS: the playlist first, then its other copies (a bucket's absolute URL stays as it is).
  const paths = info.playlist
    ? [info.playlist, ...info.files.filter((f) => f !== info.playlist)]
    : info.files;
  return { ...info, urls: paths.map((p) => new URL(p, base).toString()) };
}

function egressRequest(room: Room, body: StartBody, requestedBy: string): EgressRequest {
  return {
    roomId: RoomId(String(room.id)),
    kind: body.kind,
    participantId: body.participantId === undefined ? null : ParticipantId(String(body.participantId)),
    stageId: body.stageId === undefined ? null : ParticipantId(String(body.stageId)),
    layer: body.layer ?? -1,
    requestedBy,
  };
}

function requireServerSecret(deps: ApiDeps, request: FastifyRequest): void {
  const secret = deps.auth.identitySecret;
  if (!secret) throw new HttpError(501, JOIN_TOKENS_OFF);
  const header = request.headers.authorization ?? '';
  if (!header.startsWith('Bearer ') || !secretsEqual(header.slice(7).trim(), secret))
    throw new HttpError(401, BAD_SERVER_SECRET);
}

/** A server without egress: every operation answers 501 with how to turn it on. */
const NO_EGRESS: EgressControl = {
  startEgress: () => Promise.reject(egressDisabled()),
  stopEgress: () => Promise.reject(egressDisabled()),
  listEgress: () => Promise.reject(egressDisabled()),
};

export function egressRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  const control = deps.egress ?? NO_EGRESS;
  const host = async (roomId: number, userId: UserId, grant: RoomGrant | undefined) => {
    const room = await requireRoom(store, roomId);
    await requireOwner(store, room, userId, grant);
    return room;
  };
  const admin = async (roomId: number, request: FastifyRequest) => {
    requireServerSecret(deps, request);
    return requireRoom(store, roomId);
  };
  return [
    ...doors('/rooms/:roomId/egress', 'access', (ctx) => host(ctx.params.roomId, ctx.userId, ctx.grant), {
      by: (ctx) => `user:${ctx.userId}`,
      control,
      who: 'the host',
    }),
    ...doors('/admin/rooms/:roomId/egress', 'public', (ctx) => admin(ctx.params.roomId, ctx.request), {
      by: () => 'admin',
      control,
      who: 'the server secret',
    }),
  ];
}

interface DoorContext {
  params: { roomId: number };
  userId: UserId;
  grant: RoomGrant | undefined;
  request: FastifyRequest;
}

/** The three routes of one door: start (POST), list (GET), stop (DELETE …/:egressId). */
function doors(
  path: string,
  auth: 'access' | 'public',
  authorise: (ctx: DoorContext) => Promise<Room>,
  opts: { by: (ctx: DoorContext) => string; control: EgressControl; who: string },
): RouteDef[] {
  const { control } = opts;
  return [
    route({
      method: 'POST',
      path,
      auth,
      tag: 'egress',
      summary: `Start an egress of the room: HLS, recording or MoQ (${opts.who})`,
      params: roomIdParams,
      body: startBody,
      successStatus: 201,
      async handler(ctx) {
        const room = await authorise(ctx);
        const info = await control.startEgress(egressRequest(room, ctx.body, opts.by(ctx)));
        return egressView(info, ctx.request);
      },
    }),
    route({
      method: 'GET',
      path,
      auth,
      tag: 'egress',
      summary: `The room's egresses, running and recently ended (${opts.who})`,
      params: roomIdParams,
      async handler(ctx) {
        const room = await authorise(ctx);
        const list = await control.listEgress(RoomId(String(room.id)));
        return list.map((info) => egressView(info, ctx.request));
      },
    }),
    route({
      method: 'DELETE',
      path: `${path}/:egressId`,
      auth,
      tag: 'egress',
      summary: `Stop an egress; answers once its files are finalised (${opts.who})`,
      params: egressParams,
      async handler(ctx) {
        const room = await authorise(ctx);
        const info = await control.stopEgress({
          roomId: RoomId(String(room.id)),
          egressId: ctx.params.egressId,
        });
        return egressView(info, ctx.request);
      },
    }),
  ];
}
