import { randomBytes } from 'node:crypto';
import { SfuError } from '../lib/errors.ts';
import type { ParticipantId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { type IcePatch, iceSessionTag, readIcePatch } from '../protocol/ice-session.ts';
import { defaultMediaState } from '../protocol/sfu-api.ts';
import type {
  WhipIngest,
  WhipPatchRequest,
  WhipPatchResult,
  WhipPublished,
  WhipPublishRequest,
  WhipSessionRef,
} from '../protocol/whip-ingest.ts';
import {
  answerFragment,
  type IceCredentials,
  iceCredentials,
  mediaKinds,
  mediaMids,
  restartOffer,
} from '../protocol/whip-sdp.ts';
import { ConnectionType } from './participant-directory.ts';
import { Session } from './session.ts';
import type { SignallingContext } from './signalling-context.ts';
import { WhipEndpoint, type WhipEndReason } from './whip-endpoint.ts';

interface WhipState {
  id: string;
  session: Session<WhipEndpoint>;
  ref: { roomId: RoomId; participantId: ParticipantId };
  /** The offer of the current ICE session (an ICE restart replaces its credentials). */
  offer: string;
  remote: IceCredentials | undefined;
  /** Counts ICE restarts: part of the entity tag, which names the ICE session. */
  iceGeneration: number;
}

/**
 * The WHIP sessions of this signalling instance (RFC 9725): each is a room participant whose
 * client is an HTTP resource. It publishes through the SfuApi as a `room.publish` does, is
 * announced by the same `publisherReady` path, and leaves through the same leave flow, on DELETE,
 * when its media is lost, or when the user's newer join replaces it.
 *
 * Lifecycle: publish → (patch)* → ended (DELETE, participant left, takeover, shutdown); an ended
 * session is forgotten, and its resource answers 404.
 */
export class WhipSessions implements WhipIngest {
  readonly #ctx: SignallingContext;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #sessions = new Map<string, WhipState>();

  constructor(ctx: SignallingContext, options: { metrics: Metrics; logger: Logger }) {
    this.#ctx = ctx;
    this.#metrics = options.metrics;
    this.#log = options.logger;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Whether this instance holds the session (whoever's it is). */
  holds(sessionId: string): boolean {
    return this.#sessions.has(sessionId);
  }

  async publish(req: WhipPublishRequest): Promise<WhipPublished> {
    const id = randomBytes(16).toString('base64url');
    const endpoint = new WhipEndpoint(`whip-${id}`, (reason) => this.#forget(id, reason));
    const session = new Session(endpoint, req.userId);
    const ref = { roomId: req.roomId, participantId: req.participantId };
    const state: WhipState = {
      id,
      session,
      ref,
      offer: req.sdp,
      remote: iceCredentials(req.sdp),
      iceGeneration: 0,
    };
    // Known before the join: the participant may be lost, or replaced, as soon as it is attached.
    this.#sessions.set(id, state);
    this.#ctx.sessions.set(endpoint.id, session);
    try {
      const answer = await session.run(() => this.#join(state, req));
      this.#metrics.whipSessions.inc({ outcome: 'started', reason: 'published' });
      this.#log.info({ ...ref, whipSessionId: id }, 'whip session started');
      return { sessionId: id, answer, etag: etagOf(state) };
    } catch (err) {
      this.#sessions.delete(id);
      this.#ctx.sessions.delete(endpoint.id);
      throw err;
    }
  }

  async #join(state: WhipState, req: WhipPublishRequest): Promise<string> {
    const kinds = mediaKinds(req.sdp, ['sendrecv', 'sendonly']);
    if (!kinds.audio && !kinds.video)
      throw new SfuError('invalid_argument', 'the offer sends no audio or video');
    const mediaState = { ...defaultMediaState(), videoEnabled: kinds.video, audioEnabled: kinds.audio };
    const { ref, session } = state;
    const res = await this.#ctx.sfu.join({
      ...ref,
      sdp: req.sdp,
      // 0: ready once every negotiated track flows (a WHIP client announces no count).
      totalTracks: 0,
      mediaState,
      isMigrate: false,
      canPublishData: req.canPublishData,
      hidden: req.hidden,
    });
    try {
      requireAcceptedMedia(res.sdp);
      await this.#ctx.attach(session, {
        ...ref,
        userId: req.userId,
        socketId: session.id,
        connectionType: ConnectionType.SFU,
        mediaState,
        p2pOffer: null,
        hidden: req.hidden,
      });
      // Webhooks: its tracks, as a socket publisher's (sent once they flow, on publisherReady).
      const entry = this.#ctx.directory.get(ref.participantId);
      if (entry) this.#ctx.webhooks?.negotiated(entry, req.sdp, res.sdp);
    } catch (err) {
      await this.#ctx.sfu
        .leave(ref)
        .catch((e: unknown) => this.#log.warn({ err: e, ...ref }, 'sfu leave failed'));
      throw err;
    }
    return res.sdp;
  }

  async patch(req: WhipPatchRequest): Promise<WhipPatchResult> {
    const state = this.#require(req);
    return state.session.run(async () => {
      this.#require(req);
      let patch: IcePatch;
      try {
        patch = readIcePatch({
          fragment: req.fragment,
          ifMatch: req.ifMatch,
          etag: etagOf(state),
          remoteUfrag: state.remote?.ufrag,
        });
      } catch (err) {
        throw new SfuError('invalid_argument', (err as Error).message);
      }
      if (patch.kind === 'stale_etag') return { kind: 'stale_etag' };
      if (patch.kind === 'restart') return this.#restartIce(state, patch.credentials);
      const mids = mediaMids(state.offer);
      for (const { candidate, mid } of patch.fragment.candidates) {
        const index = mid === null ? -1 : mids.indexOf(mid);
        await this.#ctx.sfu.addPublisherCandidate({
          ...state.ref,
          candidate: { candidate, sdpMid: mid, sdpMLineIndex: index < 0 ? null : index },
        });
      }
      return { kind: 'trickled' };
    });
  }

  /** RFC 9725 §4.3.2: the earlier offer with the new credentials goes the renegotiation path. */
  async #restartIce(state: WhipState, credentials: IceCredentials): Promise<WhipPatchResult> {
    const offer = restartOffer(state.offer, credentials);
    const res = await this.#ctx.sfu.renegotiatePublisher({ ...state.ref, sdp: offer });
    state.offer = offer;
    state.remote = credentials;
    state.iceGeneration += 1;
    this.#log.info({ ...state.ref, iceGeneration: state.iceGeneration }, 'whip ice restarted');
    return { kind: 'restarted', fragment: answerFragment(res.sdp), etag: etagOf(state) };
  }

  async end(req: WhipSessionRef): Promise<void> {
    const state = this.#require(req);
    state.session.endpoint.endReason = 'deleted';
    await state.session.run(() => this.#ctx.leave(state.session, { keepRow: false }));
  }

  /** Ends every session (server shutdown): their participants leave the rooms. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.#sessions.values()].map((state) => {
        state.session.endpoint.endReason = 'shutdown';
        return state.session
          .run(() => this.#ctx.leave(state.session, { keepRow: false }))
          .catch((err: unknown) => this.#log.warn({ err, ...state.ref }, 'whip leave on shutdown failed'));
      }),
    );
  }

  #require(ref: WhipSessionRef): WhipState {
    const state = this.#sessions.get(ref.sessionId);
    // Another user's session, or another room's, is as unknown as a made-up one.
    if (!state || state.ref.roomId !== ref.roomId || state.session.userId !== ref.userId)
      throw new SfuError('not_found', 'no such WHIP session');
    return state;
  }

  #forget(id: string, reason: WhipEndReason): void {
    const state = this.#sessions.get(id);
    if (!state) return;
    this.#sessions.delete(id);
    state.session.closed = true;
    this.#ctx.sessions.delete(state.session.id);
    this.#metrics.whipSessions.inc({ outcome: 'ended', reason });
    this.#log.info({ ...state.ref, whipSessionId: id, reason }, 'whip session ended');
  }
}

/** `unsupported` when the SFU's answer takes none of the offer's audio or video (no codec it forwards). */
function requireAcceptedMedia(answer: string): void {
  const accepted = mediaKinds(answer, ['sendrecv', 'recvonly']);
  if (!accepted.audio && !accepted.video)
    throw new SfuError(
      'unsupported',
      'none of the offered audio or video codecs can be forwarded (VP8, VP9, H264, AV1, Opus)',
    );
}

/** The entity tag of a session's current ICE session (RFC 9725 §4.3.1). */
function etagOf(state: WhipState): string {
  return iceSessionTag(state.id, state.iceGeneration);
}
