import { create } from '@bufbuild/protobuf';
import * as pb from '../protocol/generated/sfu/v1/sfu_pb.js';
import type { ConnectionQualityLevel, SfuEvent, ViewerEndReason } from '../protocol/sfu-api.ts';
import { egressInfoFromProto, egressInfoToProto } from './convert-egress.ts';
import { candidateFromProto, candidateToProto } from './convert-requests.ts';
import { invalid, participantId, reverse, sdp, targetId } from './proto-fields.ts';

// Conversions of the room events streamed from a node (SfuApi.events) to and from EventsResponse.

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

const LOST_REASON_OF = reverse(LOST_REASON);
const QUALITY_OF = reverse(QUALITY);
const VIEWER_END_REASON_OF = reverse(VIEWER_END_REASON);

/** A received enum value in its domain name; throws naming the field for a value this side does not know. */
function known<K extends string>(names: Map<number, K>, value: number, field: string): K {
  const name = names.get(value);
  if (!name) throw invalid(`${field} ${value} is not known`);
  return name;
}

type EventMessage = pb.EventsResponse['event'];
type NegotiationType = 'publisherReady' | 'publisherCandidate' | 'subscriberCandidate' | 'subscriberOffer';

/** The events of one peer's negotiation: its publisher is ready, ICE candidates and offers. */
function negotiationEventToProto(e: Extract<SfuEvent, { type: NegotiationType }>): EventMessage {
  switch (e.type) {
    case 'publisherReady': {
      const value = { participantId: e.participantId, nodeId: e.nodeId, isMigrate: e.isMigrate };
      return { case: e.type, value: create(pb.PublisherReadySchema, value) };
    }
    case 'publisherCandidate': {
      const value = { participantId: e.participantId, candidate: candidateToProto(e.candidate) };
      return { case: e.type, value: create(pb.PublisherCandidateSchema, value) };
    }
    case 'subscriberCandidate': {
      const candidate = candidateToProto(e.candidate);
      const value = { participantId: e.participantId, targetId: e.targetId, candidate };
      return { case: e.type, value: create(pb.SubscriberCandidateSchema, value) };
    }
    case 'subscriberOffer': {
      const value = { participantId: e.participantId, targetId: e.targetId, sdp: e.sdp };
      return { case: e.type, value: create(pb.SubscriberOfferSchema, value) };
    }
  }
}

/** The events of the room's state: participants lost, speakers, link quality, egress, viewers. */
function statusEventToProto(e: Exclude<SfuEvent, { type: NegotiationType }>): EventMessage {
  switch (e.type) {
    case 'participantLost': {
      const value = { participantId: e.participantId, reason: LOST_REASON[e.reason] };
      return { case: e.type, value: create(pb.ParticipantLostSchema, value) };
    }
    case 'activeSpeakers': {
      const speakers = e.speakers.map((s) =>
        create(pb.ActiveSpeakerSchema, { participantId: s.participantId, level: s.level }),
      );
      return { case: e.type, value: create(pb.ActiveSpeakersSchema, { speakers }) };
    }
    case 'connectionQuality': {
      const value = { participantId: e.participantId, quality: QUALITY[e.quality], score: e.score };
      return { case: e.type, value: create(pb.ConnectionQualityChangedSchema, value) };
    }
    case 'egressUpdated':
      return { case: e.type, value: create(pb.EgressUpdatedSchema, { egress: egressInfoToProto(e.egress) }) };
    case 'viewerEnded': {
      const value = {
        participantId: e.participantId,
        targetId: e.targetId,
        reason: VIEWER_END_REASON[e.reason],
      };
      return { case: e.type, value: create(pb.ViewerEndedSchema, value) };
    }
  }
}

export function eventToProto(e: SfuEvent): pb.EventsResponse {
  switch (e.type) {
    case 'publisherReady':
    case 'publisherCandidate':
    case 'subscriberCandidate':
    case 'subscriberOffer':
      return create(pb.EventsResponseSchema, { event: negotiationEventToProto(e) });
    default:
      return create(pb.EventsResponseSchema, { event: statusEventToProto(e) });
  }
}

/**
 * The SfuEvent of a received message; `null` for the stream's `opened` marker. Throws
 * SfuError('invalid_argument') for a message that breaks the contract (the caller logs and skips it).
 */
export function eventFromProto(m: pb.EventsResponse): SfuEvent | null {
  const e = m.event;
  switch (e.case) {
    case 'opened':
      return null;
    case 'publisherReady': {
      const { nodeId, isMigrate } = e.value;
      return { type: e.case, participantId: participantId(e.value.participantId), nodeId, isMigrate };
    }
    case 'publisherCandidate': {
      const candidate = candidateFromProto(e.value.candidate);
      return { type: e.case, participantId: participantId(e.value.participantId), candidate };
    }
    case 'subscriberCandidate':
      return {
        type: e.case,
        participantId: participantId(e.value.participantId),
        targetId: targetId(e.value.targetId),
        candidate: candidateFromProto(e.value.candidate),
      };
    case 'subscriberOffer':
      return {
        type: e.case,
        participantId: participantId(e.value.participantId),
        targetId: targetId(e.value.targetId),
        sdp: sdp(e.value.sdp, 'sdp'),
      };
    default:
      return statusEventFromProto(e);
  }
}

function statusEventFromProto(e: Exclude<EventMessage, { case: 'opened' | NegotiationType }>): SfuEvent {
  switch (e.case) {
    case 'participantLost': {
      const reason = known(LOST_REASON_OF, e.value.reason, 'participant_lost.reason');
      return { type: e.case, participantId: participantId(e.value.participantId), reason };
    }
    case 'activeSpeakers': {
      const speakers = e.value.speakers.map((s) => ({
        participantId: participantId(s.participantId, 'speakers.participant_id'),
        level: s.level,
      }));
      return { type: e.case, speakers };
    }
    case 'connectionQuality': {
      const quality = known(QUALITY_OF, e.value.quality, 'connection_quality.quality');
      return {
        type: e.case,
        participantId: participantId(e.value.participantId),
        quality,
        score: e.value.score,
      };
    }
    case 'egressUpdated':
      if (!e.value.egress) throw invalid('egress_updated.egress is required');
      return { type: e.case, egress: egressInfoFromProto(e.value.egress) };
    case 'viewerEnded': {
      const reason = known(VIEWER_END_REASON_OF, e.value.reason, 'viewer_ended.reason');
      const { participantId: participant, targetId: target } = e.value;
      return { type: e.case, participantId: participantId(participant), targetId: targetId(target), reason };
    }
    case undefined:
      throw invalid('event is empty (or of a kind this client does not know)');
  }
}
