/**
 * The SDP side of a subscription in a media worker: the server's offer of a publisher's tracks
 * (a DownTrack per track, with fresh SSRCs, our payload types and the forwarded extensions), the
 * answer to a viewer's own offer (viewer.ts), the subscription either makes, and the new offers
 * when a publisher adds tracks. Not the forwarding itself (Subscription, DownTrack) and not the
 * room bookkeeping (media-engine.ts).
 */

import type { Clock } from '../../lib/clock.ts';
import { SfuError } from '../../lib/errors.ts';
import type { ParticipantId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import type { SfuEvent, SubscribeRequest, SubscribeResponse } from '../../protocol/sfu-api.ts';
import {
  type AnsweredTrack,
  createSubscriberOffer,
  EXTENSION_URI,
  FORWARDED_EXTENSIONS,
  findCapability,
  type OfferedTrack,
  parseRemoteDescription,
  receiveCodecsOf,
  remoteTransportParameters,
  type SubscriberSdpState,
} from '../../transport/negotiation/index.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import { backupFor, offeredTrackId, tracksFor } from './backup-codecs.ts';
import { budgetOf, type Room, type Source } from './engine-room.ts';
import type { RelayedPublisher } from './relay.ts';
import { sharedExtensionIds } from './rtp-rewriter.ts';
import { Subscription } from './subscription.ts';
import type { UpTrack } from './up-track.ts';
import { answerViewer } from './viewer.ts';

/** A subscribe request; `remote` when the target is homed on another worker (the pool adds it). */
export interface SubscribeArgs extends SubscribeRequest {
  remote?: { fromWorker: number; publisher: RelayedPublisher } | undefined;
}

/** A subscription's first negotiation: the reply, and the offer's state or the viewer's answered tracks. */
export interface Negotiated {
  reply: SubscribeResponse;
  sdp: SubscriberSdpState | undefined;
  answered?: AnsweredTrack[] | undefined;
}

/**
 * The server's offer of every track of `publisher`, or (the request carries the subscriber's
 * offer: a WHEP viewer) the answer to it, which sets the remote parameters at once. `subscribe`
 * makes the subscription (with the viewer's transport-cc id when it answers).
 */
export function negotiateSubscription(
  req: SubscribeArgs,
  publisher: Source,
  transport: WebRtcTransport,
  subscribe: (transportCcId?: number) => Subscription,
  /** Whether the subscriber is not known to lack a codec (RoomCodecs.decoder): picks backups. */
  decodes: (mimeType: string) => boolean = () => true,
): Negotiated {
  const videoCodec = videoCodecOf(publisher);
  if (req.offer !== undefined) {
    const offer = parseRemoteDescription(req.offer);
    const answer = answerViewer({
      transport,
      targetId: req.targetId,
      offer,
      tracks: publisher.tracks.values(),
      mediaState: publisher.mediaState,
      subscribe,
    });
    answer.subscription.answered();
    transport.setRemoteParameters(remoteTransportParameters(offer));
    answer.subscription.receiveCodecs = receiveCodecsOf(offer);
    return {
      reply: { offer: '', answer: answer.sdp, videoCodec },
      sdp: undefined,
      answered: answer.answered,
    };
  }
  const subscription = subscribe();
  const tracks = tracksFor(publisher.tracks.values(), decodes).map((up) => offerTrack(subscription, up));
  const offer = createSubscriberOffer({ local: transport.localParameters, tracks, dataChannels: true });
  return { reply: { offer: offer.sdp, videoCodec }, sdp: offer.state };
}

/**
 * The subscription a negotiation makes on `transport`, counted in its subscriber's budget. A
 * subscriber offered the publisher's tracks has the screen share served first; a viewer (it made
 * the offer) is sent the camera only.
 */
export function newSubscription(options: {
  room: Room;
  req: SubscribeArgs;
  publisher: Source;
  transport: WebRtcTransport;
  transportCcId: number | undefined;
  clock: Clock;
  logger?: Logger | undefined;
}): Subscription {
  const { room, req, publisher } = options;
  const subscription = new Subscription({
    subscriberId: req.participantId,
    targetId: req.targetId,
    transport: options.transport,
    clock: options.clock,
    transportCcId: options.transportCcId,
    // The Waterbus media state names the screen track (room.screen_sharing / publish); a viewer
    // is sent the camera only.
    isScreenShare:
      req.offer === undefined
        ? (trackId) => publisher.mediaState.screenSharing && publisher.mediaState.screenTrackId === trackId
        : undefined,
    canPublishData: req.canPublishData,
    logger: options.logger?.child({
      roomId: req.roomId,
      participantId: req.participantId,
      targetId: req.targetId,
    }),
  });
  budgetOf(room, req.participantId).add(subscription);
  return subscription;
}

/** The publisher added tracks: every subscriber to it gets them in a new server offer. */
export function offerAddedTracks(
  room: Room,
  publisherId: ParticipantId,
  added: UpTrack[],
  emit: (event: SfuEvent) => void,
): void {
  for (const entry of room.subscriptions.values()) {
    // A viewer (WHEP) has no renegotiation: it keeps the audio and camera it was answered.
    if (entry.subscription.targetId !== publisherId || !entry.sdp) continue;
    const decodes = room.codecs.decoder(entry.subscription.subscriberId);
    const tracks = tracksFor(added, decodes).map((up) => offerTrack(entry.subscription, up));
    if (tracks.length === 0) continue;
    const offer = createSubscriberOffer({
      local: entry.subscription.transport.localParameters,
      state: entry.sdp,
      tracks,
    });
    entry.sdp = offer.state;
    emit({
      type: 'subscriberOffer',
      participantId: entry.subscription.subscriberId,
      targetId: publisherId,
      sdp: offer.sdp,
    });
  }
}

/**
 * The subscriber refused tracks of our offer (codecs it cannot decode): a new offer with their
 * sections inactive and out of the BUNDLE group (RFC 8843 §7.3.3). Firefox refusing the section
 * our BUNDLE group is tagged with (its first mid) starts no ICE for the others until then. A
 * refused video track with a backup it may decode (`backups`: the publisher's tracks) is replaced
 * by that backup in the same offer; the mids replaced so are returned (the others are unsupported).
 */
export function offerWithoutRefused(
  entry: { subscription: Subscription; sdp: SubscriberSdpState | undefined },
  refusedMids: ReadonlySet<string>,
  emit: (event: SfuEvent) => void,
  backups: { tracks: Iterable<UpTrack>; decodes: (mimeType: string) => boolean } = {
    tracks: [],
    decodes: () => true,
  },
): Set<string> {
  const replaced = new Set<string>();
  if (!entry.sdp || refusedMids.size === 0) return replaced;
  const added: OfferedTrack[] = [];
  for (const s of entry.sdp.sections) {
    if (!refusedMids.has(s.mid) || s.kind !== 'video') continue;
    const down = [...entry.subscription.downTracks.values()].find((d) => d.ssrc === s.ssrc);
    const backup = down && backupFor(backups.tracks, down.upTrack, backups.decodes);
    if (down && backup) {
      entry.subscription.removeTrack(down.upTrack);
      added.push(offerTrack(entry.subscription, backup));
      replaced.add(s.mid);
      continue;
    }
    // Nothing is forwarded for a refused video track (paused, as a Waterbus `track_quality` 0), and
    // its publisher's layers are no longer wanted for this subscriber.
    entry.subscription.setPreferredQuality(s.trackId, 0);
  }
  const state: SubscriberSdpState = {
    ...entry.sdp,
    sections: entry.sdp.sections.map((s) => (refusedMids.has(s.mid) ? { ...s, active: false } : s)),
  };
  const offer = createSubscriberOffer({
    local: entry.subscription.transport.localParameters,
    state,
    tracks: added,
  });
  entry.sdp = offer.state;
  emit({
    type: 'subscriberOffer',
    participantId: entry.subscription.subscriberId,
    targetId: entry.subscription.targetId,
    sdp: offer.sdp,
  });
  return replaced;
}

/**
 * A DownTrack for `up` in `subscription`, and what the offer says of it: the server's payload
 * types, fresh SSRCs (media and RTX), and the forwarded extensions the publisher sends, mapped
 * from the publisher's ids to ours.
 */
function offerTrack(subscription: Subscription, up: UpTrack): OfferedTrack {
  const capability = findCapability(up.codec.mimeType);
  if (!capability) throw new SfuError('unsupported', `cannot forward ${up.codec.mimeType}`);
  const ssrc = randomSsrc();
  const rtxSsrc = capability.rtxPayloadType === undefined ? undefined : randomSsrc();
  const { headerExtensions, extensionIds, absSendTimeId } = forwardedExtensions(up);
  subscription.addTrack(up, {
    ssrc,
    payloadType: capability.payloadType,
    rtx: rtxSsrc === undefined ? undefined : { ssrc: rtxSsrc, payloadType: capability.rtxPayloadType! },
    extensionIds,
    absSendTimeId,
  });
  return {
    kind: up.kind,
    trackId: offeredTrackId(up),
    streamId: up.streamId,
    codec: { ...capability, fmtp: { ...capability.fmtp, ...up.codec.fmtp } },
    ssrc,
    rtxSsrc,
    cname: `bbmeet-${subscription.targetId}`,
    headerExtensions,
  };
}

/** The extensions offered for `up` and the map from the publisher's ids to ours. */
function forwardedExtensions(up: UpTrack): {
  headerExtensions: OfferedTrack['headerExtensions'];
  extensionIds: Uint8Array;
  absSendTimeId: number;
} {
  // The dependency descriptor only for AV1: Chromium sends it with VP8 and VP9 too, and there it
  // would describe each simulcast encoding's own frame numbers and chains, which a receiver that
  // trusts it cannot follow across our layer switches and temporal dropping (frames wait forever
  // for references it says exist). Without it, receivers use the codec's own payload descriptor.
  const av1 = /\/av1$/i.test(up.codec.mimeType);
  const headerExtensions = FORWARDED_EXTENSIONS[up.kind].filter(
    (e) =>
      (av1 || e.uri !== EXTENSION_URI.dependencyDescriptor) &&
      up.headerExtensions.some((p) => p.uri === e.uri),
  );
  const extensionIds = new Uint8Array(256);
  let absSendTimeId = 0;
  for (const e of headerExtensions) {
    extensionIds[up.headerExtensions.find((p) => p.uri === e.uri)!.id] = e.id;
    if (e.uri === EXTENSION_URI.absSendTime) absSendTimeId = e.id;
  }
  return { headerExtensions, extensionIds: sharedExtensionIds(extensionIds), absSendTimeId };
}

/** Mime type of the source's video track, for `room.answer_subscriber.videoCodec`. */
function videoCodecOf(source: Source): string {
  for (const t of source.tracks.values())
    if (t.kind === 'video' && t.backupOf === undefined) return t.codec.mimeType;
  return '';
}

function randomSsrc(): number {
  return (1 + Math.floor(Math.random() * 0xfffffffe)) >>> 0;
}
