import type { EgressInfo } from './egress.ts';

/**
 * Webhooks (WEBHOOK_URLS): what happens in rooms, POSTed as JSON to the operator's endpoints, one
 * event per request, signed with the API secret (docs/webhooks.md). These are the bodies' shapes;
 * signalling reports events through a `WebhookEmitter` and the sink adds `id` and `createdAt`.
 */

export type WebhookEventName =
  | 'room_started'
  | 'room_finished'
  | 'participant_joined'
  | 'participant_left'
  | 'track_published'
  | 'track_unpublished'
  | 'egress_started'
  | 'egress_ended';

export interface WebhookRoom {
  /** The room's database id, as on the socket (a decimal string). */
  id: string;
  /** null when the room's row could not be read (deleted meanwhile, or the database unreachable). */
  code: string | null;
  title: string | null;
}

export interface WebhookParticipant {
  /** The participants row id (`participantId` on the socket). */
  id: string;
  userId: number;
  /** The user's full name, else the user name; null when unknown. */
  name: string | null;
  /** A join token's `hidden` grant: the room is not told about it, the operator is. */
  hidden: boolean;
}

export interface WebhookTrack {
  kind: 'audio' | 'video';
  /** `screen_share` when the track is the media state's `screenTrackId`. */
  source: 'camera' | 'microphone' | 'screen_share';
  /** The publisher's MediaStreamTrack id (its `a=msid`), null when the offer named none. */
  trackId: string | null;
  /** The m-line's `a=mid` in the publisher's offer. */
  mid: string;
  /** The negotiated codec's mime type, e.g. `video/VP8`; null when the answer named none. */
  codec: string | null;
}

/** The egress as the REST egress routes show it, less what only a viewer needs (its URLs' roots). */
export type WebhookEgress = Pick<
  EgressInfo,
  | 'egressId'
  | 'kind'
  | 'participantId'
  | 'state'
  | 'startedAt'
  | 'endedAt'
  | 'reason'
  | 'playlist'
  | 'files'
  | 'nodeId'
>;

/** Why a participant left: `left` (room.leave, eviction), `disconnected` (socket or media lost). */
export type WebhookLeaveReason = 'left' | 'disconnected';

/** An event as signalling reports it (`WebhookEmitter.emit`). */
export type WebhookEventInput =
  | { event: 'room_started' | 'room_finished'; room: WebhookRoom }
  | { event: 'participant_joined'; room: WebhookRoom; participant: WebhookParticipant }
  | {
      event: 'participant_left';
      room: WebhookRoom;
      participant: WebhookParticipant;
      reason: WebhookLeaveReason;
    }
  | {
      event: 'track_published' | 'track_unpublished';
      room: WebhookRoom;
      participant: WebhookParticipant;
      track: WebhookTrack;
    }
  | { event: 'egress_started' | 'egress_ended'; room: WebhookRoom; egress: WebhookEgress };

/** A webhook request's body. */
export type WebhookEvent = WebhookEventInput & {
  /** Unique per event (a UUID): a receiver drops a retried delivery it already handled. */
  id: string;
  /** When the server saw it, ms since the epoch. */
  createdAt: number;
};

/**
 * Where signalling reports webhook events. `emit` returns at once: delivery is queued (per room,
 * in order) and never blocks the caller.
 */
export interface WebhookEmitter {
  emit(event: WebhookEventInput): void;
}
