import { create } from '@bufbuild/protobuf';
import * as pb from '../protocol/generated/sfu/v1/sfu_pb.js';
import type {
  BackupSection,
  IceCandidate,
  JoinRequest,
  ParticipantRef,
  PublisherCandidateRequest,
  PublisherOfferRequest,
  SubscribeRequest,
  SubscriberAnswerRequest,
  SubscriberAnswerResponse,
  SubscriberCandidateRequest,
} from '../protocol/sfu-api.ts';
import { mediaStateFromProto, mediaStateToProto } from './convert-media-state.ts';
import { invalid, participantRef, sdp, targetId } from './proto-fields.ts';

// Conversions of the session requests (join, subscribe, negotiation, ICE candidates, leave), with the
// rule of convert.ts: `*FromProto` validates what came over the network, `*ToProto` trusts its input.

const MAX_CANDIDATE_CHARS = 2048;
const MAX_TRACKS = 256;
/** A mid is an SDP token (RFC 8843 §15.2: token characters); ours and browsers' are short. */
const MID = /^[A-Za-z0-9!#$%&'*+\-.^_`{|}~]{1,32}$/;

export function candidateToProto(c: IceCandidate): pb.IceCandidate {
  return create(pb.IceCandidateSchema, {
    candidate: c.candidate,
    ...(c.sdpMid === null ? {} : { sdpMid: c.sdpMid }),
    ...(c.sdpMLineIndex === null ? {} : { sdpMLineIndex: c.sdpMLineIndex }),
  });
}

export function candidateFromProto(m: pb.IceCandidate | undefined): IceCandidate {
  if (!m) throw invalid('candidate is required');
  if (m.candidate.length > MAX_CANDIDATE_CHARS)
    throw invalid(`candidate.candidate is longer than ${MAX_CANDIDATE_CHARS} characters`);
  if (m.sdpMid !== undefined && m.sdpMid.length > 64)
    throw invalid('candidate.sdp_mid is longer than 64 characters');
  if (m.sdpMLineIndex !== undefined && m.sdpMLineIndex > 1023)
    throw invalid('candidate.sdp_m_line_index must be 0-1023');
  return { candidate: m.candidate, sdpMid: m.sdpMid ?? null, sdpMLineIndex: m.sdpMLineIndex ?? null };
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
    backupSections: (r.backupSections ?? []).map((b) => create(pb.BackupSectionSchema, b)),
  });
}

export function joinFromProto(m: pb.JoinRequest): JoinRequest {
  if (m.totalTracks > MAX_TRACKS) throw invalid(`total_tracks must be 0-${MAX_TRACKS}`);
  return {
    ...participantRef(m),
    sdp: sdp(m.sdp, 'sdp'),
    totalTracks: m.totalTracks,
    mediaState: mediaStateFromProto(m.mediaState),
    isMigrate: m.isMigrate,
    // Only a refusal is carried: an absent field (an older sender) leaves the default, true.
    ...(m.canPublishData === false ? { canPublishData: false } : {}),
    ...(m.hidden ? { hidden: true } : {}),
    ...(m.backupSections.length > 0 ? { backupSections: backupSectionsFromProto(m.backupSections) } : {}),
  };
}

/** At most one backup per section, with mids as short as SDP tokens. */
function backupSectionsFromProto(sections: pb.BackupSection[]): BackupSection[] {
  if (sections.length > MAX_TRACKS) throw invalid(`backup_sections must hold at most ${MAX_TRACKS}`);
  return sections.map(({ mid, primaryMid }) => {
    if (!MID.test(mid) || !MID.test(primaryMid))
      throw invalid('backup_sections: a mid is 1-32 token characters');
    return { mid, primaryMid };
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
    ...(r.iceRestart ? { iceRestart: true } : {}),
  });
}

export function subscribeFromProto(m: pb.SubscribeRequest): SubscribeRequest {
  const target = targetId(m.targetId);
  return {
    ...participantRef(m),
    targetId: target,
    ...(m.canPublishData === false ? { canPublishData: false } : {}),
    ...(m.offer === undefined ? {} : { offer: sdp(m.offer, 'offer') }),
    ...(m.followActiveSpeaker ? { followActiveSpeaker: true } : {}),
    ...(m.iceRestart ? { iceRestart: true } : {}),
  };
}

export function subscriberAnswerFromProto(m: pb.SetSubscriberAnswerRequest): SubscriberAnswerRequest {
  return { ...participantRef(m), targetId: targetId(m.targetId), sdp: sdp(m.sdp, 'sdp') };
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
  return { ...participantRef(m), sdp: sdp(m.sdp, 'sdp') };
}

export function publisherCandidateFromProto(m: pb.AddPublisherCandidateRequest): PublisherCandidateRequest {
  return { ...participantRef(m), candidate: candidateFromProto(m.candidate) };
}

export function subscriberCandidateFromProto(
  m: pb.AddSubscriberCandidateRequest,
): SubscriberCandidateRequest {
  return {
    ...participantRef(m),
    targetId: targetId(m.targetId),
    candidate: candidateFromProto(m.candidate),
  };
}

export function leaveFromProto(m: pb.LeaveRequest): ParticipantRef {
  return participantRef(m);
}
