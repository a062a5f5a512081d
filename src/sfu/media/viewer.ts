import type { MediaState } from '../../protocol/sfu-api.ts';
import {
  type AnsweredTrack,
  type AnswerSource,
  createSubscriberAnswer,
  EXTENSION_URI,
  findCapability,
  type RemoteDescription,
} from '../../transport/negotiation/index.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import { sharedExtensionIds } from './rtp-rewriter.ts';
import type { Subscription } from './subscription.ts';
import type { UpTrack } from './up-track.ts';

/**
 * A viewer (WHEP): a subscription made from the subscriber's own offer. The answer sends the
 * publisher's first audio track and its camera (its first video track that is not the screen
 * share) in the subscriber's payload types and extension ids; the tracks are then forwarded like
 * any subscriber's (DownTracks of `subscription`: layers from its estimate, NACK/RTX, a keyframe
 * request on start).
 */
export function answerViewer(input: {
  transport: WebRtcTransport;
  targetId: string;
  offer: RemoteDescription;
  tracks: Iterable<UpTrack>;
  mediaState: MediaState;
  /** Makes the subscription on `transport`, with the subscriber's transport-cc id (0: none). */
  subscribe: (transportCcId: number) => Subscription;
}): { sdp: string; subscription: Subscription; answered: AnsweredTrack[] } {
  const chosen = viewedTracks(input.tracks, input.mediaState);
  const sources: Partial<Record<'audio' | 'video', AnswerSource>> = {};
  for (const [kind, up] of chosen) sources[kind] = answerSource(up);
  const answer = createSubscriberAnswer({
    offer: input.offer,
    local: input.transport.localParameters,
    sources,
    cname: `bbmeet-${input.targetId}`,
  });
  const subscription = input.subscribe(transportCcIdOf(answer.tracks));
  for (const t of answer.tracks) addDownTrack(subscription, chosen.get(t.kind)!, t);
  subscription.useRtx(new Set(answer.tracks.filter((t) => t.rtxSsrc !== undefined).map((t) => t.ssrc)));
  return { sdp: answer.sdp, subscription, answered: answer.tracks };
}

/**
 * Moves a viewer to another publisher (following the active speaker): its tracks of the kinds
 * answered, in the same codecs, mapped to the extension ids the viewer was answered. False (and
 * nothing changed) when the publisher does not send every answered kind in its codec.
 */
export function switchViewer(input: {
  subscription: Subscription;
  answered: readonly AnsweredTrack[];
  targetId: Subscription['targetId'];
  tracks: Iterable<UpTrack>;
  mediaState: MediaState;
}): boolean {
  const chosen = viewedTracks(input.tracks, input.mediaState);
  const sources = [];
  for (const down of input.subscription.downTracks.values()) {
    const up = chosen.get(down.kind);
    const answered = input.answered.find((t) => t.kind === down.kind);
    if (!up || !answered || up.codec.mimeType.toLowerCase() !== down.upTrack.codec.mimeType.toLowerCase())
      return false;
    sources.push({ down, up, ...extensionMapping(up, answered) });
  }
  input.subscription.switchTarget(input.targetId, sources);
  return true;
}

/** The transport-cc id the answer gives the subscriber (the same in every section that has it), 0: none. */
function transportCcIdOf(tracks: readonly AnsweredTrack[]): number {
  for (const t of tracks) {
    const id = t.headerExtensions.find((e) => e.uri === EXTENSION_URI.transportCc)?.id;
    if (id !== undefined) return id;
  }
  return 0;
}

function viewedTracks(tracks: Iterable<UpTrack>, state: MediaState): Map<'audio' | 'video', UpTrack> {
  const chosen = new Map<'audio' | 'video', UpTrack>();
  for (const up of tracks) {
    // A backup (backup-codecs.ts) is not a camera of its own.
    if (chosen.has(up.kind) || up.backupOf !== undefined) continue;
    // The Waterbus media state names the screen track: a viewer watches the camera.
    if (up.kind === 'video' && state.screenSharing && state.screenTrackId === up.trackId) continue;
    chosen.set(up.kind, up);
  }
  return chosen;
}

function answerSource(up: UpTrack): AnswerSource {
  const capability = findCapability(up.codec.mimeType);
  return {
    kind: up.kind,
    trackId: up.trackId,
    streamId: up.streamId,
    codec: {
      mimeType: up.codec.mimeType,
      clockRate: up.codec.clockRate,
      fmtp: up.codec.fmtp,
      redundantCodec: capability?.redundantCodec,
    },
    headerExtensions: up.headerExtensions,
  };
}

function addDownTrack(subscription: Subscription, up: UpTrack, t: AnsweredTrack): void {
  const rtxPayloadType = t.codec.rtxPayloadType;
  subscription.addTrack(up, {
    ssrc: t.ssrc,
    payloadType: t.codec.payloadType,
    rtx:
      t.rtxSsrc === undefined || rtxPayloadType === undefined
        ? undefined
        : { ssrc: t.rtxSsrc, payloadType: rtxPayloadType },
    ...extensionMapping(up, t),
  });
}

/** The publisher's extension ids → the viewer's (0: dropped), and the viewer's abs-send-time id. */
function extensionMapping(
  up: UpTrack,
  t: AnsweredTrack,
): { extensionIds: Uint8Array; absSendTimeId: number } {
  const extensionIds = new Uint8Array(256);
  let absSendTimeId = 0;
  for (const e of t.headerExtensions) {
    const published = up.headerExtensions.find((p) => p.uri === e.uri);
    if (published) extensionIds[published.id] = e.id;
    if (e.uri === EXTENSION_URI.absSendTime) absSendTimeId = e.id;
  }
  return { extensionIds: sharedExtensionIds(extensionIds), absSendTimeId };
}
