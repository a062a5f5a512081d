import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isSfuError } from '../../lib/errors.ts';
import { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { RoomBroadcaster } from '../../protocol/room-broadcaster.ts';
import type { WhipIngest } from '../../protocol/whip-ingest.ts';
import { isSdp, SDP_FRAGMENT_MIME, SDP_MIME } from '../../protocol/whip-sdp.ts';
import { RoomStatus, type Store } from '../../store/types.ts';
import type { AuthOptions } from '../deps.ts';
import { describeZodError, HttpError } from '../http-errors.ts';
import { replyToIcePatch } from '../ice-patch-reply.ts';
import type { IceServerOptions } from '../ice-servers.ts';
import { replaceOlderParticipants } from '../room-access.ts';
import { iceServerLinks, requireWhipPublisher, whipCaller } from '../whip-access.ts';
import { pathId, requireRoom, requireUser } from './common.ts';

/** An SDP offer: a simulcast offer of Chromium with audio and video is ~7 KB. */
const MAX_OFFER_BYTES = 64 * 1024;
const MAX_FRAGMENT_BYTES = 16 * 1024;

const endpointParams = z.object({ roomId: pathId });
const resourceParams = z.object({ roomId: pathId, sessionId: z.string().regex(/^[\w-]{1,64}$/) });
const offerBody = z.string().max(MAX_OFFER_BYTES).refine(isSdp, 'not an SDP description (v=0 first)');
const fragmentBody = z.string().min(1).max(MAX_FRAGMENT_BYTES);

export interface WhipRouteDeps {
  store: Store;
  auth: Pick<AuthOptions, 'jwtSecret' | 'identitySecret'>;
  ice?: IceServerOptions | undefined;
  broadcaster: RoomBroadcaster;
  whip: WhipIngest;
  metrics: Metrics;
  logger: Logger;
}

/**
 * WHIP ingest (RFC 9725): `POST /whip/rooms/{roomId}` publishes an SDP offer as a participant of
 * the room; the session resource it creates takes trickled candidates and ICE restarts (PATCH) and
 * ends with DELETE. Outside /busapi/v3: a broadcast tool sends a Bearer token and nothing else.
 */
export function registerWhip(app: FastifyInstance, deps: WhipRouteDeps): void {
  void app.register(async (scope) => {
    // Only SDP is read here: any other body type is a 415 before it is parsed.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser([SDP_MIME, SDP_FRAGMENT_MIME], { parseAs: 'string' }, (_r, body, done) =>
      done(null, body),
    );
    scope.addHook('onResponse', async (request, reply) => countPublish(deps.metrics, request, reply));
    scope.post('/whip/rooms/:roomId', { bodyLimit: MAX_OFFER_BYTES }, (req, reply) =>
      publish(deps, req, reply),
    );
    scope.options('/whip/rooms/:roomId', async (_req, reply) =>
      reply.code(204).header('allow', 'OPTIONS, POST').header('accept-post', SDP_MIME).send(),
    );
    const resource = '/whip/rooms/:roomId/sessions/:sessionId';
    scope.patch(resource, { bodyLimit: MAX_FRAGMENT_BYTES }, (req, reply) => patch(deps, req, reply));
    scope.delete(resource, (req, reply) => end(deps, req, reply));
    scope.options(resource, async (_req, reply) =>
      reply
        .code(204)
        .header('allow', 'OPTIONS, PATCH, DELETE')
        .header('accept-patch', SDP_FRAGMENT_MIME)
        .send(),
    );
  });
}

async function publish(deps: WhipRouteDeps, request: FastifyRequest, reply: FastifyReply) {
  const { store } = deps;
  const { roomId } = parse(endpointParams, request.params, 'params');
  const caller = await whipCaller(request, deps, roomId);
  const sdp = parse(offerBody, bodyOf(request, SDP_MIME), 'body');
  const room = await requireRoom(store, roomId);
  if (room.status !== RoomStatus.Active) throw new HttpError(409, 'Room is not active');
  await requireUser(store, caller.userId);
  await requireWhipPublisher(store, room, caller);
  const hidden = caller.grant?.grants.hidden === true;
  const participant = await store.participants.create({ roomId, userId: caller.userId, hidden });
  let published: Awaited<ReturnType<WhipIngest['publish']>>;
  try {
    published = await deps.whip.publish({
      roomId: RoomId(roomId),
      participantId: ParticipantId(participant.id),
      userId: caller.userId,
      sdp,
      hidden,
      canPublishData: caller.grant?.grants.canPublishData !== false,
    });
  } catch (err) {
    await store.participants
      .delete(participant.id)
      .catch((e: unknown) =>
        deps.logger.warn({ err: e, participantId: participant.id }, 'whip row not removed'),
      );
    throw offerError(err);
  }
  // One participant per user and room, as a join: only once this one is in (a refused offer keeps the old).
  await replaceOlderParticipants(deps, roomId, caller.userId, participant.id);
  const links = iceServerLinks(deps.ice, caller.userId, Date.now());
  if (links.length > 0) void reply.header('link', links);
  return reply
    .code(201)
    .type(SDP_MIME)
    .header('location', `/whip/rooms/${roomId}/sessions/${published.sessionId}`)
    .header('etag', published.etag)
    .header('accept-patch', SDP_FRAGMENT_MIME)
    .send(published.answer);
}

async function patch(deps: WhipRouteDeps, request: FastifyRequest, reply: FastifyReply) {
  const { roomId, sessionId } = parse(resourceParams, request.params, 'params');
  const caller = await whipCaller(request, deps, roomId);
  const fragment = parse(fragmentBody, bodyOf(request, SDP_FRAGMENT_MIME), 'body');
  const ifMatch = request.headers['if-match'];
  const result = await deps.whip.patch({
    sessionId,
    roomId: RoomId(roomId),
    userId: caller.userId,
    ifMatch,
    fragment,
  });
  return replyToIcePatch(reply, result);
}

async function end(deps: WhipRouteDeps, request: FastifyRequest, reply: FastifyReply) {
  const { roomId, sessionId } = parse(resourceParams, request.params, 'params');
  const caller = await whipCaller(request, deps, roomId);
  await deps.whip.end({ sessionId, roomId: RoomId(roomId), userId: caller.userId });
  return reply.code(200).send();
}

/** The body, if it came as `mime`; 415 otherwise (RFC 9725 §4.2, §4.3.1). */
function bodyOf(request: FastifyRequest, mime: string): unknown {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== mime) throw new HttpError(415, `Content-Type must be ${mime}`);
  return request.body;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, describeZodError(result.error, where));
  return result.data;
}

/**
 * An offer the SFU cannot take is the client's (4xx): malformed (400), or nothing in it the SFU
 * forwards (422 Unprocessable Content, RFC 9110 §15.5.21); other errors keep their usual status.
 */
function offerError(err: unknown): unknown {
  if (isSfuError(err) && err.code === 'unsupported') return new HttpError(422, err.message);
  return err;
}

const REFUSALS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  409: 'room_not_active',
  413: 'too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_offer',
  429: 'rate_limited',
  503: 'unavailable',
};

/** `bbmeet_whip_sessions_total{outcome="refused", reason}` for each refused POST (started is counted by signalling). */
function countPublish(metrics: Metrics, request: FastifyRequest, reply: FastifyReply): void {
  if (request.method !== 'POST' || reply.statusCode < 400) return;
  const reason = REFUSALS[reply.statusCode] ?? 'error';
  metrics.whipSessions.inc({ outcome: 'refused', reason });
}
