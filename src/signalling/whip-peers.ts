import type { Server } from 'socket.io';
import { z } from 'zod';
import { isSfuError, SfuError, type SfuErrorCode } from '../lib/errors.ts';
import { RoomId, UserId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
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

/** What the instance holding the session answers; the others answer `{ held: false }`. */
type PeerAnswer =
  | { held: false }
  | { held: true; ok: true; result: WhipPatchResult | null }
  | { held: true; ok: false; code: SfuErrorCode; message: string };

/**
 * WHIP resources in a cluster of signalling instances. A session lives on the instance its POST
 * reached (its participant's media and room events are followed there); a PATCH or DELETE that a
 * load balancer sends to another instance is handed, over the socket.io adapter (Redis), to the
 * instance holding it, and its answer comes back the same way. So WHIP needs no sticky routing.
 *
 * Lifecycle: as long as the socket server (the listener goes with `io`).
 */
export class WhipPeers implements WhipIngest {
  readonly #io: Server;
  readonly #local: WhipSessions;
  readonly #log: Logger;

  constructor(io: Server, local: WhipSessions, logger: Logger) {
    this.#io = io;
    this.#local = local;
    this.#log = logger;
    (io as unknown as { on(event: string, listener: (msg: unknown, ack: unknown) => void): void }).on(
      WHIP_PEER_EVENT,
      (msg, ack) => {
        if (typeof ack !== 'function') return;
        void this.#answer(msg).then((answer) => ack(answer));
      },
    );
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

  /**
   * Runs the request on the instance that holds the session; not_found when none does. The others
   * answer at once; the adapter waits for them all (its requestsTimeout, 5 s by default).
   */
  async #ask(request: PeerRequest): Promise<WhipPatchResult | null> {
    let answers: unknown[];
    let silent = false;
    try {
      answers = await this.#io.serverSideEmitWithAck(WHIP_PEER_EVENT, request);
    } catch (err) {
      // Some instance did not answer in time: the holder's answer may still be among those that came.
      answers = (err as { responses?: unknown[] }).responses ?? [];
      silent = true;
      this.#log.warn(
        { err, sessionId: request.sessionId },
        'whip resource request: an instance did not answer',
      );
    }
    const held = answers.find(
      (a): a is Extract<PeerAnswer, { held: true }> => (a as PeerAnswer | null)?.held === true,
    );
    if (!held && silent)
      throw new SfuError(
        'unavailable',
        'a signalling instance did not answer: the WHIP session may be on it',
      );
    if (!held) throw new SfuError('not_found', 'no such WHIP session');
    if (!held.ok) throw new SfuError(held.code, held.message);
    return held.result;
  }

  /** Another instance asks: this one answers for the sessions it holds. */
  async #answer(msg: unknown): Promise<PeerAnswer> {
    const parsed = peerRequest.safeParse(msg);
    if (!parsed.success || !this.#local.holds(parsed.data.sessionId)) return { held: false };
    const request = parsed.data;
    try {
      if (request.op === 'end') {
        await this.#local.end(request);
        return { held: true, ok: true, result: null };
      }
      const { op: _op, ...patch } = request;
      return { held: true, ok: true, result: await this.#local.patch({ ...patch, ifMatch: patch.ifMatch }) };
    } catch (err) {
      return isSfuError(err)
        ? { held: true, ok: false, code: err.code, message: err.message }
        : { held: true, ok: false, code: 'internal', message: 'the WHIP request failed' };
    }
  }
}
