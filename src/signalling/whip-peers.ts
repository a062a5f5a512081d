import { z } from 'zod';
import { isSfuError, SfuError, type SfuErrorCode } from '../lib/errors.ts';
import { RoomId, UserId } from '../lib/ids.ts';
import type { ClusterPeers } from '../protocol/cluster-peers.ts';
import type {
  WhipIngest,
  WhipPatchRequest,
  WhipPatchResult,
  WhipPublished,
  WhipPublishRequest,
  WhipSessionRef,
} from '../protocol/whip-ingest.ts';
import type { WhipSessions } from './whip-sessions.ts';

/** The event carrying a WHIP resource request to the other signalling instances. */
export const WHIP_PEER_EVENT = 'bbmeet:whip-resource';

const ref = {
  sessionId: z.string().max(64),
  roomId: z.string().max(32).transform(RoomId),
  userId: z.number().int().transform(UserId),
};
const peerRequest = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('patch'),
    ...ref,
    ifMatch: z.string().max(4096).optional(),
    fragment: z.string().max(64 * 1024),
  }),
  z.object({ op: z.literal('end'), ...ref }),
]);
type PeerRequest = z.input<typeof peerRequest>;

/** What the instance holding the session answers. */
type PeerAnswer =
  | { ok: true; result: WhipPatchResult | null }
  | { ok: false; code: SfuErrorCode; message: string };

/**
 * WHIP resources in a cluster of signalling instances. A session lives on the instance its POST
 * reached (its participant's media and room events are followed there); a PATCH or DELETE that a
 * load balancer sends to another instance is handed to the instance holding it (ClusterPeers), and
 * its answer, or its refusal, comes back as if sent there. So WHIP needs no sticky routing.
 */
export class WhipPeers implements WhipIngest {
  readonly #peers: ClusterPeers;
  readonly #local: WhipSessions;

  constructor(peers: ClusterPeers, local: WhipSessions) {
    this.#peers = peers;
    this.#local = local;
    peers.answer(WHIP_PEER_EVENT, (msg) => this.#answer(msg));
  }

  publish(req: WhipPublishRequest): Promise<WhipPublished> {
    return this.#local.publish(req);
  }

  async patch(req: WhipPatchRequest): Promise<WhipPatchResult> {
    if (this.#local.holds(req.sessionId)) return this.#local.patch(req);
    const result = await this.#ask({ op: 'patch', ...req });
    if (!result) throw new SfuError('internal', 'the instance holding the WHIP session gave no result');
    return result;
  }

  async end(req: WhipSessionRef): Promise<void> {
    if (this.#local.holds(req.sessionId)) return this.#local.end(req);
    await this.#ask({ op: 'end', ...req });
  }

  /** Runs the request on the instance that holds the session; not_found when none does. */
  async #ask(request: PeerRequest): Promise<WhipPatchResult | null> {
    const answer = (await this.#peers.ask(WHIP_PEER_EVENT, request)) as PeerAnswer | undefined;
    if (!answer) throw new SfuError('not_found', 'no such WHIP session');
    if (!answer.ok) throw new SfuError(answer.code, answer.message);
    return answer.result;
  }

  /** Another instance asks: this one answers for the sessions it holds (undefined: not here). */
  async #answer(msg: unknown): Promise<PeerAnswer | undefined> {
    const parsed = peerRequest.safeParse(msg);
    if (!parsed.success || !this.#local.holds(parsed.data.sessionId)) return undefined;
    const request = parsed.data;
    try {
      if (request.op === 'end') {
        await this.#local.end(request);
        return { ok: true, result: null };
      }
      const { op: _op, ...patch } = request;
      return { ok: true, result: await this.#local.patch({ ...patch, ifMatch: patch.ifMatch }) };
    } catch (err) {
      return isSfuError(err)
        ? { ok: false, code: err.code, message: err.message }
        : { ok: false, code: 'internal', message: 'the WHIP request failed' };
    }
  }
}
