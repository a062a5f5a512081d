import { isSfuError } from '../../lib/errors.ts';
import { type IcePatchResult, readIcePatch } from '../../protocol/ice-session.ts';
import { answerFragment, type IceCredentials, restartOffer } from '../../protocol/whip-sdp.ts';
import { HttpError } from '../http-errors.ts';
import type { WhepSession, WhepSessions, WhepSfu } from './whep-sessions.ts';

/**
 * A WHEP session's PATCH (draft-ietf-wish-whep, as RFC 9725 §4.3 for WHIP): trickled
 * candidates are taken and ignored (the server is ICE-lite: it learns the player's address from
 * its checks, RFC 8445 §2.5); new ICE credentials restart ICE on the viewer's connection, on the
 * SFU holding it (in a cluster the dispatcher sends it to the room's node, as every call of the
 * viewer). One PATCH of a session at a time: a restart changes what the next one is read against.
 */
export async function patchWhepSession(
  sfu: WhepSfu,
  sessions: WhepSessions,
  session: WhepSession,
  request: { fragment: string; ifMatch: string | undefined },
): Promise<IcePatchResult> {
  const result = (queues.get(session) ?? Promise.resolve()).then(() =>
    patch(sfu, sessions, session, request),
  );
  queues.set(
    session,
    result.then(
      () => undefined,
      () => undefined,
    ),
  );
  return result;
}

/** Each session's last PATCH (settled either way): the next one waits for it. */
const queues = new WeakMap<WhepSession, Promise<void>>();

async function patch(
  sfu: WhepSfu,
  sessions: WhepSessions,
  session: WhepSession,
  request: { fragment: string; ifMatch: string | undefined },
): Promise<IcePatchResult> {
  if (sessions.get(session.id) !== session) throw new HttpError(404, 'No such WHEP session');
  let read: ReturnType<typeof readIcePatch>;
  try {
    read = readIcePatch({ ...request, etag: session.etag, remoteUfrag: session.iceUfrag });
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  if (read.kind === 'stale_etag') return read;
  if (read.kind === 'trickle') return { kind: 'trickled' };
  return restartIce(sfu, sessions, session, read.credentials);
}

/** The player's first offer with its new credentials goes to the viewer's connection (SubscribeRequest.iceRestart). */
async function restartIce(
  sfu: WhepSfu,
  sessions: WhepSessions,
  session: WhepSession,
  credentials: IceCredentials,
): Promise<IcePatchResult> {
  const offer = restartOffer(session.offer, credentials);
  const { roomId, viewerId, targetId } = session;
  let answer: string | undefined;
  try {
    ({ answer } = await sfu.subscribe({
      roomId,
      participantId: viewerId,
      targetId,
      offer,
      iceRestart: true,
    }));
  } catch (err) {
    if (!(isSfuError(err) && err.code === 'not_found')) throw err;
    // The viewer's connection is gone (its end is on its way as an event): so is the session.
    if (sessions.end(session.id, 'unavailable'))
      await sfu.leave({ roomId, participantId: viewerId }).catch(() => undefined);
    throw new HttpError(404, 'No such WHEP session');
  }
  if (!answer) throw new HttpError(502, 'the media server did not answer the ICE restart');
  sessions.iceRestarted(session, offer);
  return { kind: 'restarted', fragment: answerFragment(answer), etag: session.etag };
}
