import { z } from 'zod';
import { isSfuError, SfuError, type SfuErrorCode } from '../../lib/errors.ts';
import type { ClusterPeers } from '../../protocol/cluster-peers.ts';
import type { IcePatchResult } from '../../protocol/ice-session.ts';
import { HttpError } from '../http-errors.ts';
import { patchWhepSession } from './whep-patch.ts';
import type { WhepSession, WhepSessions, WhepSfu } from './whep-sessions.ts';

/** The event carrying a WHEP resource request to the other signalling instances. */
const WHEP_PEER_EVENT = 'bbmeet:whep-resource';

const sessionId = z.string().regex(/^[A-Za-z0-9_-]{22}$/);
const peerRequest = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('patch'),
    sessionId,
    fragment: z.string().max(64 * 1024),
    ifMatch: z.string().max(4096).optional(),
  }),
  z.object({ op: z.literal('delete'), sessionId }),
]);
export type WhepPeerRequest = z.input<typeof peerRequest>;

/** The holder's answer: the PATCH's result (null for a DELETE), or its refusal as it would be sent. */
type PeerAnswer =
  | { ok: true; result: IcePatchResult | null }
  | { ok: false; status: number; message: string }
  | { ok: false; code: SfuErrorCode; message: string };

/** What a WHEP resource does, on the instance holding its session. */
export interface WhepResourceOps {
  patch(
    session: WhepSession,
    request: { fragment: string; ifMatch: string | undefined },
  ): Promise<IcePatchResult>;
  delete(session: WhepSession): Promise<void>;
}

/** The session's PATCH and DELETE on this instance (whep-routes.ts uses them for its own sessions). */
export function whepResourceOps(sfu: WhepSfu, sessions: WhepSessions): WhepResourceOps {
  return {
    patch: (session, request) => patchWhepSession(sfu, sessions, session, request),
    async delete(session) {
      sessions.end(session.id, 'deleted');
      await sfu.leave({ roomId: session.roomId, participantId: session.viewerId });
    },
  };
}

/**
 * WHEP resources in a cluster of signalling instances: a session lives on the instance its POST
 * reached; a PATCH or DELETE sent to another one is handed to it (ClusterPeers), and its answer or
 * refusal comes back as if sent there. The session id is the resource's credential, as on its
 * holder: nothing else is checked.
 */
export class WhepPeers {
  readonly #peers: ClusterPeers;

  constructor(peers: ClusterPeers, sessions: WhepSessions, ops: WhepResourceOps) {
    this.#peers = peers;
    peers.answer(WHEP_PEER_EVENT, async (msg): Promise<PeerAnswer | undefined> => {
      const parsed = peerRequest.safeParse(msg);
      const session = parsed.success ? sessions.get(parsed.data.sessionId) : undefined;
      if (!parsed.success || !session) return undefined;
      const request = parsed.data;
      try {
        if (request.op === 'delete') {
          await ops.delete(session);
          return { ok: true, result: null };
        }
        return { ok: true, result: await ops.patch(session, { ...request, ifMatch: request.ifMatch }) };
      } catch (err) {
        if (err instanceof HttpError) return { ok: false, status: err.status, message: err.message };
        if (isSfuError(err)) return { ok: false, code: err.code, message: err.message };
        return { ok: false, code: 'internal', message: 'the WHEP request failed' };
      }
    });
  }

  /** The request run by the instance holding the session: its result, or its refusal thrown here. */
  async ask(request: WhepPeerRequest): Promise<IcePatchResult | null> {
    const answer = (await this.#peers.ask(WHEP_PEER_EVENT, request)) as PeerAnswer | undefined;
    if (!answer) throw new HttpError(404, 'No such WHEP session');
    if (answer.ok) return answer.result;
    if ('status' in answer) throw new HttpError(answer.status, answer.message);
    throw new SfuError(answer.code, answer.message);
  }
}
