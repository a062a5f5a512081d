import { create } from '@bufbuild/protobuf';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import * as pb from '../protocol/generated/sfu/v1/sfu_pb.js';
import type {
  ConnectionQualityLevel,
  IceCandidate,
  JoinRequest,
  MediaState,
  MediaStateRequest,
  ParticipantRef,
  PublisherCandidateRequest,
  PublisherOfferRequest,
  SfuDump,
  SfuEvent,
  SubscribeRequest,
  SubscriberAnswerRequest,
  SubscriberAnswerResponse,
  SubscriberCandidateRequest,
  ViewerEndReason,
} from '../protocol/sfu-api.ts';
import {
  egressInfoFromProto,
  egressInfoToProto,
  egressStatsFromProto,
  egressStatsToProto,
} from './convert-egress.ts';
import { id, invalid } from './proto-fields.ts';

// Conversions between the SfuApi types (protocol/sfu-api.ts) and the generated sfu.proto messages.
// `*FromProto` functions read what came over the network: they validate and throw
// SfuError('invalid_argument') naming the field; `*ToProto` functions trust their (typed) input.

export const MAX_SDP_BYTES = 256 * 1024;
const MAX_CANDIDATE_CHARS = 2048;
const MAX_TRACKS = 256;

function sdp(value: string, field: string): string {
  if (!value) throw invalid(`${field} is required`);
  if (value.length > MAX_SDP_BYTES) throw invalid(`${field} is longer than ${MAX_SDP_BYTES} characters`);
  return value;
}

function trackId(value: string, field: string): string {
  if (!value || value.length > 256) throw invalid(`${field} must be 1-256 characters`);
  return value;
}

function cameraType(value: number, field: string): number {
  if (value > 255) throw invalid(`${field} must be 0-255`);
  return value;
}

function ref(m: { roomId: string; participantId: string }): ParticipantRef {
  return {
    roomId: RoomId(id(m.roomId, 'room_id')),
    participantId: ParticipantId(id(m.participantId, 'participant_id')),
  };
}

export function roomIdFromProto(m: { roomId: string }): RoomId {
  return RoomId(id(m.roomId, 'room_id'));
}

// ---- requests: SfuApi → proto (client) ----

export function mediaStateToProto(s: MediaState): pb.MediaState {
  return create(pb.MediaStateSchema, {
    videoEnabled: s.videoEnabled,
    audioEnabled: s.audioEnabled,
    e2eeEnabled: s.e2eeEnabled,
    cameraType: s.cameraType,
    screenSharing: s.screenSharing,
    ...(s.screenTrackId === null ? {} : { screenTrackId: s.screenTrackId }),
    handRaising: s.handRaising,
  });
}

export function candidateToProto(c: IceCandidate): pb.IceCandidate {
  return create(pb.IceCandidateSchema, {
    candidate: c.candidate,
    ...(c.sdpMid === null ? {} : { sdpMid: c.sdpMid }),
    ...(c.sdpMLineIndex === null ? {} : { sdpMLineIndex: c.sdpMLineIndex }),
  });
}

export function joinToProto(r: JoinRequest): pb.JoinRequest {
  return create(pb.JoinRequestSchema, {
    roomId: r.roomId,
    participantId: r.participantId,
    sdp: r.sdp,
    totalTracks: r.totalTracks,
    mediaState: mediaStateToProto(r.mediaState),
    isMigrate: r.isMigrate,
    ...(r.canPublishData === undefined ? {} : { canPublishData: r.canPublishData }),
    hidden: r.hidden ?? false,
  });
}

export function subscribeToProto(r: SubscribeRequest): pb.SubscribeRequest {
  return create(pb.SubscribeRequestSchema, {
    roomId: r.roomId,
    participantId: r.participantId,
    targetId: r.targetId,
    ...(r.canPublishData === undefined ? {} : { canPublishData: r.canPublishData }),
    ...(r.offer === undefined ? {} : { offer: r.offer }),
    ...(r.followActiveSpeaker ? { followActiveSpeaker: true } : {}),
  });
}

export function mediaStateRequestToProto(r: MediaStateRequest): pb.SetMediaStateRequest {
  const s = r.state;
  const state = create(pb.MediaStateUpdateSchema, {
    videoEnabled: s.videoEnabled,
    audioEnabled: s.audioEnabled,
    e2eeEnabled: s.e2eeEnabled,
    cameraType: s.cameraType,
    screenSharing: s.screenSharing,
    handRaising: s.handRaising,
  });
  if (s.screenTrackId === null) state.screenTrack = { case: 'screenTrackCleared', value: true };
  else if (s.screenTrackId !== undefined)
    state.screenTrack = { case: 'screenTrackId', value: s.screenTrackId };
  return create(pb.SetMediaStateRequestSchema, {
    roomId: r.roomId,
    participantId: r.participantId,
    state,
    enforce: r.enforce === true,
  });
}

// ---- requests: proto → SfuApi (server, validated) ----

function mediaStateFromProto(m: pb.MediaState | undefined): MediaState {
  if (!m) throw invalid('media_state is required');
  return {
    videoEnabled: m.videoEnabled,
    audioEnabled: m.audioEnabled,
    e2eeEnabled: m.e2eeEnabled,
    cameraType: cameraType(m.cameraType, 'media_state.camera_type'),
    screenSharing: m.screenSharing,
    screenTrackId:
      m.screenTrackId === undefined ? null : trackId(m.screenTrackId, 'media_state.screen_track_id'),
    handRaising: m.handRaising,
  };
}

function candidateFromProto(m: pb.IceCandidate | undefined): IceCandidate {
  if (!m) throw invalid('candidate is required');
  if (m.candidate.length > MAX_CANDIDATE_CHARS)
    throw invalid(`candidate.candidate is longer than ${MAX_CANDIDATE_CHARS} characters`);
  if (m.sdpMid !== undefined && m.sdpMid.length > 64)
    throw invalid('candidate.sdp_mid is longer than 64 characters');
  if (m.sdpMLineIndex !== undefined && m.sdpMLineIndex > 1023)
    throw invalid('candidate.sdp_m_line_index must be 0-1023');
  return { candidate: m.candidate, sdpMid: m.sdpMid ?? null, sdpMLineIndex: m.sdpMLineIndex ?? null };
}

export function joinFromProto(m: pb.JoinRequest): JoinRequest {
  if (m.totalTracks > MAX_TRACKS) throw invalid(`total_tracks must be 0-${MAX_TRACKS}`);
  return {
    ...ref(m),
    sdp: sdp(m.sdp, 'sdp'),
    totalTracks: m.totalTracks,
    mediaState: mediaStateFromProto(m.mediaState),
    isMigrate: m.isMigrate,
    // Only a refusal is carried: an absent field (an older sender) leaves the default, true.
    ...(m.canPublishData === false ? { canPublishData: false } : {}),
    ...(m.hidden ? { hidden: true } : {}),
  };
}

export function subscribeFromProto(m: pb.SubscribeRequest): SubscribeRequest {
  const targetId = ParticipantId(id(m.targetId, 'target_id'));
  return {
    ...ref(m),
    targetId,
    ...(m.canPublishData === false ? { canPublishData: false } : {}),
    ...(m.offer === undefined ? {} : { offer: sdp(m.offer, 'offer') }),
    ...(m.followActiveSpeaker ? { followActiveSpeaker: true } : {}),
  };
}

export function subscriberAnswerFromProto(m: pb.SetSubscriberAnswerRequest): SubscriberAnswerRequest {
  return { ...ref(m), targetId: ParticipantId(id(m.targetId, 'target_id')), sdp: sdp(m.sdp, 'sdp') };
}

/** The refused tracks a node reports; a kind other than audio/video is not one we offered. */
export function subscriberAnswerResponseFromProto(
  m: pb.SetSubscriberAnswerResponse,
): SubscriberAnswerResponse {
  return {
    refusedTracks: m.refusedTracks
      .filter((t) => t.kind === 'audio' || t.kind === 'video')
      .map((t) => ({ trackId: t.trackId, kind: t.kind as 'audio' | 'video', mimeType: t.mimeType })),
  };
}

export function publisherOfferFromProto(m: pb.RenegotiatePublisherRequest): PublisherOfferRequest {
  return { ...ref(m), sdp: sdp(m.sdp, 'sdp') };
}

export function publisherCandidateFromProto(m: pb.AddPublisherCandidateRequest): PublisherCandidateRequest {
  return { ...ref(m), candidate: candidateFromProto(m.candidate) };
}

export function subscriberCandidateFromProto(
  m: pb.AddSubscriberCandidateRequest,
): SubscriberCandidateRequest {
  return {
    ...ref(m),
    targetId: ParticipantId(id(m.targetId, 'target_id')),
    candidate: candidateFromProto(m.candidate),
  };
}

export function mediaStateRequestFromProto(m: pb.SetMediaStateRequest): MediaStateRequest {
  const s = m.state;
  if (!s) throw invalid('state is required');
  const state: Partial<MediaState> = {};
  if (s.videoEnabled !== undefined) state.videoEnabled = s.videoEnabled;
  if (s.audioEnabled !== undefined) state.audioEnabled = s.audioEnabled;
  if (s.e2eeEnabled !== undefined) state.e2eeEnabled = s.e2eeEnabled;
  if (s.cameraType !== undefined) state.cameraType = cameraType(s.cameraType, 'state.camera_type');
  if (s.screenSharing !== undefined) state.screenSharing = s.screenSharing;
  if (s.handRaising !== undefined) state.handRaising = s.handRaising;
  if (s.screenTrack.case === 'screenTrackId')
    state.screenTrackId = trackId(s.screenTrack.value, 'state.screen_track_id');
  else if (s.screenTrack.case === 'screenTrackCleared') {
    if (!s.screenTrack.value) throw invalid('state.screen_track_cleared must be true when set');
    state.screenTrackId = null;
  }
  return m.enforce ? { ...ref(m), state, enforce: true } : { ...ref(m), state };
}

export function leaveFromProto(m: pb.LeaveRequest): ParticipantRef {
  return ref(m);
}

// ---- events ----

type LostReason = Extract<SfuEvent, { type: 'participantLost' }>['reason'];
const LOST_REASON = {
  consent_timeout: pb.ParticipantLostReason.CONSENT_TIMEOUT,
  worker_restarted: pb.ParticipantLostReason.WORKER_RESTARTED,
  node_lost: pb.ParticipantLostReason.NODE_LOST,
} as Record<LostReason, pb.ParticipantLostReason>;

const VIEWER_END_REASON: Record<ViewerEndReason, pb.ViewerEndReason> = {
  consent_timeout: pb.ViewerEndReason.CONSENT_TIMEOUT,
  target_left: pb.ViewerEndReason.TARGET_LEFT,
};

const QUALITY: Record<ConnectionQualityLevel, pb.ConnectionQuality> = {
  excellent: pb.ConnectionQuality.EXCELLENT,
  good: pb.ConnectionQuality.GOOD,
  poor: pb.ConnectionQuality.POOR,
  lost: pb.ConnectionQuality.LOST,
};

export function eventToProto(e: SfuEvent): pb.EventsResponse {
  const event = ((): pb.EventsResponse['event'] => {
    switch (e.type) {
      case 'publisherReady':
        return {
          case: 'publisherReady',
          value: create(pb.PublisherReadySchema, {
            participantId: e.participantId,
            nodeId: e.nodeId,
            isMigrate: e.isMigrate,
          }),
        };
      case 'publisherCandidate':
        return {
          case: 'publisherCandidate',
          value: create(pb.PublisherCandidateSchema, {
            participantId: e.participantId,
            candidate: candidateToProto(e.candidate),
          }),
        };
      case 'subscriberCandidate':
        return {
          case: 'subscriberCandidate',
          value: create(pb.SubscriberCandidateSchema, {
            participantId: e.participantId,
            targetId: e.targetId,
            candidate: candidateToProto(e.candidate),
          }),
        };
      case 'subscriberOffer':
        return {
          case: 'subscriberOffer',
          value: create(pb.SubscriberOfferSchema, {
            participantId: e.participantId,
            targetId: e.targetId,
            sdp: e.sdp,
          }),
        };
      case 'participantLost':
        return {
          case: 'participantLost',
          value: create(pb.ParticipantLostSchema, {
            participantId: e.participantId,
            reason: LOST_REASON[e.reason],
          }),
        };
      case 'activeSpeakers':
        return {
          case: 'activeSpeakers',
          value: create(pb.ActiveSpeakersSchema, {
            speakers: e.speakers.map((s) =>
              create(pb.ActiveSpeakerSchema, { participantId: s.participantId, level: s.level }),
            ),
          }),
        };
      case 'connectionQuality':
        return {
          case: 'connectionQuality',
          value: create(pb.ConnectionQualityChangedSchema, {
            participantId: e.participantId,
            quality: QUALITY[e.quality],
            score: e.score,
          }),
        };
      case 'egressUpdated':
        return {
          case: 'egressUpdated',
          value: create(pb.EgressUpdatedSchema, { egress: egressInfoToProto(e.egress) }),
        };
      case 'viewerEnded':
        return {
          case: 'viewerEnded',
          value: create(pb.ViewerEndedSchema, {
            participantId: e.participantId,
            targetId: e.targetId,
            reason: VIEWER_END_REASON[e.reason],
          }),
        };
    }
  })();
  return create(pb.EventsResponseSchema, { event });
}

function reverse<K extends string>(map: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(map).map(([k, v]) => [v as number, k as K]));
}
const LOST_REASON_OF = reverse(LOST_REASON);
const QUALITY_OF = reverse(QUALITY);
const VIEWER_END_REASON_OF = reverse(VIEWER_END_REASON);

/**
 * The SfuEvent of a received message; `null` for the stream's `opened` marker. Throws
 * SfuError('invalid_argument') for a message that breaks the contract (the caller logs and skips it).
 */
export function eventFromProto(m: pb.EventsResponse): SfuEvent | null {
  const e = m.event;
  switch (e.case) {
    case 'opened':
      return null;
    case 'publisherReady':
      return {
        type: 'publisherReady',
        participantId: ParticipantId(id(e.value.participantId, 'participant_id')),
        nodeId: e.value.nodeId,
        isMigrate: e.value.isMigrate,
      };
    case 'publisherCandidate':
      return {
        type: 'publisherCandidate',
        participantId: ParticipantId(id(e.value.participantId, 'participant_id')),
        candidate: candidateFromProto(e.value.candidate),
      };
    case 'subscriberCandidate':
      return {
        type: 'subscriberCandidate',
        participantId: ParticipantId(id(e.value.participantId, 'participant_id')),
        targetId: ParticipantId(id(e.value.targetId, 'target_id')),
        candidate: candidateFromProto(e.value.candidate),
      };
    case 'subscriberOffer':
      return {
        type: 'subscriberOffer',
        participantId: ParticipantId(id(e.value.participantId, 'participant_id')),
        targetId: ParticipantId(id(e.value.targetId, 'target_id')),
        sdp: sdp(e.value.sdp, 'sdp'),
      };
    case 'participantLost': {
      const reason = LOST_REASON_OF.get(e.value.reason);
      if (!reason) throw invalid(`participant_lost.reason ${e.value.reason} is not known`);
      return {
        type: 'participantLost',
        participantId: ParticipantId(id(e.value.participantId, 'participant_id')),
        reason,
      };
    }
    case 'activeSpeakers':
      return {
        type: 'activeSpeakers',
        speakers: e.value.speakers.map((s) => ({
          participantId: ParticipantId(id(s.participantId, 'speakers.participant_id')),
          level: s.level,
        })),
      };
    case 'connectionQuality': {
      const quality = QUALITY_OF.get(e.value.quality);
      if (!quality) throw invalid(`connection_quality.quality ${e.value.quality} is not known`);
      return {
        type: 'connectionQuality',
        participantId: ParticipantId(id(e.value.participantId, 'participant_id')),
        quality,
        score: e.value.score,
      };
    }
    case 'egressUpdated':
      if (!e.value.egress) throw invalid('egress_updated.egress is required');
      return { type: 'egressUpdated', egress: egressInfoFromProto(e.value.egress) };
    case 'viewerEnded': {
      const reason = VIEWER_END_REASON_OF.get(e.value.reason);
      if (!reason) throw invalid(`viewer_ended.reason ${e.value.reason} is not known`);
      return {
        type: 'viewerEnded',
        participantId: ParticipantId(id(e.value.participantId, 'participant_id')),
        targetId: ParticipantId(id(e.value.targetId, 'target_id')),
        reason,
      };
    }
    case undefined:
      throw invalid('event is empty (or of a kind this client does not know)');
  }
}

// ---- dump ----

export function dumpToProto(d: SfuDump): pb.DumpResponse {
  return create(pb.DumpResponseSchema, {
    rooms: d.rooms.map((r) =>
      create(pb.RoomDumpSchema, {
        roomId: r.roomId,
        participants: r.participants,
        publishers: r.publishers,
        subscriptions: r.subscriptions,
        downTracks: r.downTracks,
        workers: r.workers ?? [],
        relays: r.relays,
        remoteTracks: r.remoteTracks,
        taps: r.taps,
      }),
    ),
    egress: (d.egress ?? []).map(egressInfoToProto),
    ...(d.egressStats ? { egressStats: egressStatsToProto(d.egressStats) } : {}),
    ...(d.handover
      ? {
          handover: create(pb.HandoverStatsSchema, {
            batchesSent: BigInt(d.handover.batchesSent),
            packetsSent: BigInt(d.handover.packetsSent),
            batchesReceived: BigInt(d.handover.batchesReceived),
            packetsReceived: BigInt(d.handover.packetsReceived),
            malformed: BigInt(d.handover.malformed),
            unknownTrack: BigInt(d.handover.unknownTrack),
          }),
        }
      : {}),
    transports: d.transports,
    dropped: create(pb.DroppedDatagramsSchema, {
      malformed: BigInt(d.dropped.malformed),
      unknownAddress: BigInt(d.dropped.unknownAddress),
      unknownUsername: BigInt(d.dropped.unknownUsername),
    }),
  });
}

export function dumpFromProto(m: pb.DumpResponse): SfuDump {
  const dump: SfuDump = {
    rooms: m.rooms.map((r) => ({
      roomId: RoomId(r.roomId),
      participants: r.participants.map(ParticipantId),
      publishers: r.publishers,
      subscriptions: r.subscriptions,
      downTracks: r.downTracks,
      ...(r.workers.length > 0 ? { workers: r.workers } : {}),
      ...(r.relays === undefined ? {} : { relays: r.relays }),
      ...(r.remoteTracks === undefined ? {} : { remoteTracks: r.remoteTracks }),
      ...(r.taps === undefined ? {} : { taps: r.taps }),
    })),
    transports: m.transports,
    dropped: {
      malformed: Number(m.dropped?.malformed ?? 0n),
      unknownAddress: Number(m.dropped?.unknownAddress ?? 0n),
      unknownUsername: Number(m.dropped?.unknownUsername ?? 0n),
    },
  };
  if (m.egress.length > 0) dump.egress = m.egress.map(egressInfoFromProto);
  if (m.egressStats) dump.egressStats = egressStatsFromProto(m.egressStats);
  const h = m.handover;
  if (h) {
    dump.handover = {
      batchesSent: Number(h.batchesSent),
      packetsSent: Number(h.packetsSent),
      batchesReceived: Number(h.batchesReceived),
      packetsReceived: Number(h.packetsReceived),
      malformed: Number(h.malformed),
      unknownTrack: Number(h.unknownTrack),
    };
  }
  return dump;
}
