import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isSfuError } from '../../lib/errors.ts';
import { type ParticipantId, RoomId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { ClusterPeers } from '../../protocol/cluster-peers.ts';
import { SDP_FRAGMENT_MIME, SDP_MIME } from '../../protocol/whip-sdp.ts';
import type { ApiDeps } from '../deps.ts';
import { describeZodError, HttpError, toHttpError } from '../http-errors.ts';
import { replyToIcePatch } from '../ice-patch-reply.ts';
import { iceServersFor } from '../ice-servers.ts';
import { whepViewer } from './whep-auth.ts';
import { WhepPeers, type WhepResourceOps, whepResourceOps } from './whep-peers.ts';
import { type WhepSession, WhepSessions, type WhepSfu } from './whep-sessions.ts';

/** WHEP (draft-ietf-wish-whep): playback of a participant's camera and microphone by any WebRTC player. */

/** An offer of a few media sections is ~5-10 KB; the SDP parser refuses more than 100 000 bytes. */
const MAX_BODY_BYTES = 100_000;

/** The active speaker of the room, whoever it is. */
const FOLLOW_PATH = '/whep/rooms/:roomId';
/** A follower starts at the first of the room's publishers the SFU has media of, at most this many tried. */
const MAX_FOLLOW_STARTS = 3;

const roomParams = z.object({ roomId: z.string().regex(/^\d{1,15}$/, 'must be a room id') });
const viewParams = z.object({
  roomId: z.string().regex(/^\d{1,15}$/, 'must be a room id'),
  participantId: z.string().regex(/^\d{1,15}$/, 'must be a participant id'),
});
const sessionParams = z.object({
  sessionId: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'must be a session id'),
});

export interface WhepOptions {
  deps: Pick<ApiDeps, 'store' | 'auth' | 'ice'>;
  sfu: WhepSfu;
  metrics: Metrics;
  logger: Logger;
  /** In a cluster: the other signalling instances, for the sessions they hold. */
  peers?: ClusterPeers | undefined;
}

/**
 * Registers the WHEP endpoints and session resources (in their own Fastify scope, which takes SDP
 * bodies): POST /whep/rooms/:roomId/participants/:participantId (one participant), POST
 * /whep/rooms/:roomId (the room's active speaker), PATCH and DELETE /whep/sessions/:sessionId.
 * Returns the sessions (tests read them); they end with the server.
 */
export function registerWhep(app: FastifyInstance, options: WhepOptions): WhepSessions {
  const sessions = new WhepSessions({ sfu: options.sfu, metrics: options.metrics, logger: options.logger });
  const ops = whepResourceOps(options.sfu, sessions);
  const peers = options.peers ? new WhepPeers(options.peers, sessions, ops) : undefined;
  // Not awaited: Fastify loads plugins at ready()/listen(), where a failure to register is thrown.
  void app.register(async (scope) => {
    // Any body is read as text (bounded): the handlers answer 415 for a type they do not take.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) =>
      done(null, body),
    );
    scope.addHook('onClose', async () => sessions.close());
    scope.post('/whep/rooms/:roomId/participants/:participantId', (request, reply) =>
      startSession(options, sessions, request, reply),
    );
    scope.post(FOLLOW_PATH, (request, reply) => startSession(options, sessions, request, reply));
    scope.patch('/whep/sessions/:sessionId', (request, reply) =>
      patchSession(sessions, ops, peers, request, reply),
    );
    scope.delete('/whep/sessions/:sessionId', (request, reply) =>
      deleteSession(sessions, ops, peers, request, reply),
    );
  });
  return sessions;
}

async function startSession(
  options: WhepOptions,
  sessions: WhepSessions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  try {
    const follow = request.routeOptions.url === FOLLOW_PATH;
    const params: { roomId: string; participantId?: string } = validate(
      follow ? roomParams : viewParams,
      request.params,
    );
    const viewer = await whepViewer(options.deps, request.headers.authorization, params);
    const offer = sdpBody(request, SDP_MIME);
    const { session, answer } = await subscribeViewer(options.sfu, sessions, {
      roomId: RoomId(params.roomId),
      targets: viewer.targets,
      follow,
      offer,
    });
    sessions.add(session);
    const links = iceServersFor(
      options.deps.ice ?? { stunUrls: [], turn: undefined },
      String(viewer.userId),
      Date.now(),
    );
    if (links.length > 0) void reply.header('link', links.map(iceServerLink).join(', '));
    return reply
      .code(201)
      .header('location', `/whep/sessions/${session.id}`)
      .header('etag', session.etag)
      .header('accept-patch', SDP_FRAGMENT_MIME)
      .header('cache-control', 'no-store')
      .type(SDP_MIME)
      .send(answer);
  } catch (err) {
    sessions.refused(refusalReason(err));
    throw whepError(err);
  }
}

/**
 * The SFU answers the offer for the first of `targets` it has media of (a follower starts at any
 * publisher; a named participant is the one target); a failed subscribe leaves nothing behind
 * (the viewer's placement).
 */
async function subscribeViewer(
  sfu: WhepSfu,
  sessions: WhepSessions,
  request: { roomId: RoomId; targets: ParticipantId[]; follow: boolean; offer: string },
): Promise<{ session: WhepSession; answer: string }> {
  const { roomId, offer, follow } = request;
  let lastError: unknown;
  for (const targetId of request.targets.slice(0, MAX_FOLLOW_STARTS)) {
    const session = sessions.create(roomId, targetId, offer, follow);
    sessions.watch(roomId);
    try {
      const res = await sfu.subscribe({
        roomId,
        participantId: session.viewerId,
        targetId,
        canPublishData: false,
        offer,
        ...(follow ? { followActiveSpeaker: true } : {}),
      });
      if (!res.answer) throw new HttpError(502, 'the media server did not answer the offer');
      return { session, answer: res.answer };
    } catch (err) {
      sessions.unwatch(roomId);
      // Whatever the SFU placed for the viewer before failing goes (the call is idempotent).
      await sfu.leave({ roomId, participantId: session.viewerId }).catch(() => undefined);
      // A publisher row whose media is gone (or P2P): a follower tries the next one.
      if (!(isSfuError(err) && err.code === 'not_found')) throw err;
      lastError = err;
    }
  }
  throw lastError;
}

/** Trickle ICE and ICE restarts (whep-patch.ts), here or on the instance holding the session. */
async function patchSession(
  sessions: WhepSessions,
  ops: WhepResourceOps,
  peers: WhepPeers | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { sessionId } = validate(sessionParams, request.params);
  const session = sessions.get(sessionId);
  if (!session && !peers) throw new HttpError(404, 'No such WHEP session');
  const patch = { fragment: sdpBody(request, SDP_FRAGMENT_MIME), ifMatch: request.headers['if-match'] };
  const result = session
    ? await ops.patch(session, patch)
    : await peers!.ask({ op: 'patch', sessionId, ...patch });
  if (!result) throw new HttpError(502, 'the WHEP session gave no answer to the PATCH');
  return replyToIcePatch(reply, result);
}

async function deleteSession(
  sessions: WhepSessions,
  ops: WhepResourceOps,
  peers: WhepPeers | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { sessionId } = validate(sessionParams, request.params);
  const session = sessions.get(sessionId);
  if (session) await ops.delete(session);
  else if (peers) await peers.ask({ op: 'delete', sessionId });
  else throw new HttpError(404, 'No such WHEP session');
  return reply.code(200).send();
}

function validate<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, describeZodError(result.error, 'params'));
  return result.data;
}

/** The body of a request of content type `type` (parameters such as charset allowed), else 415. */
function sdpBody(request: FastifyRequest, type: string): string {
  const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== type) throw new HttpError(415, `Content-Type must be ${type}`);
  const body = request.body;
  if (typeof body !== 'string' || body.trim() === '')
    throw new HttpError(400, `the body must be an ${type} document`);
  return body;
}

/** RFC 8288 Link with the ICE server attributes of RFC 9725 §4.6 (username, credential). */
function iceServerLink(server: { urls: string[]; username?: string; credential?: string }): string {
  const auth =
    server.username === undefined
      ? ''
      : `; username="${server.username}"; credential="${server.credential ?? ''}"; credential-type="password"`;
  return server.urls.map((url) => `<${url}>; rel="ice-server"${auth}`).join(', ');
}

/**
 * The SFU's refusals of an offer, in WHEP terms: a malformed offer or one that receives nothing
 * is 400, an offer with none of the published codecs 422 (the content is understood but cannot
 * be served).
 */
function whepError(err: unknown): unknown {
  if (!isSfuError(err)) return err;
  if (err.code === 'unsupported') return new HttpError(422, err.message);
  return err;
}

function refusalReason(err: unknown): string {
  const status = err instanceof HttpError ? err.status : toHttpError(whepError(err)).status;
  const reasons: Record<number, string> = {
    400: 'bad_offer',
    401: 'unauthenticated',
    403: 'forbidden',
    404: 'not_found',
    415: 'unsupported_media_type',
    422: 'no_codec',
    503: 'unavailable',
  };
  return reasons[status] ?? 'error';
}
