import type { ParticipantId, RoomId, UserId } from '../lib/ids.ts';
import type { IcePatchResult } from './ice-session.ts';

/**
 * WHIP ingest (RFC 9725) as the REST edge sees it: the HTTP routes check the caller and the room,
 * create the participants row, and hand the rest to signalling, which publishes the offer through
 * its SfuApi and keeps the session (a participant whose client is a WHIP resource, not a socket).
 * Failures are `SfuError`s (`not_found` for an unknown or foreign session).
 */
export interface WhipIngest {
  publish(req: WhipPublishRequest): Promise<WhipPublished>;
  /** Trickled candidates, or an ICE restart when the fragment carries new credentials. */
  patch(req: WhipPatchRequest): Promise<WhipPatchResult>;
  /** Ends the session: its participant leaves the room as anyone does. */
  end(req: WhipSessionRef): Promise<void>;
}

export interface WhipPublishRequest {
  roomId: RoomId;
  /** The participants row the route created for this session. */
  participantId: ParticipantId;
  userId: UserId;
  /** The SDP offer (`application/sdp`). */
  sdp: string;
  /** A join token's `hidden` grant. */
  hidden: boolean;
  /** A join token's `canPublishData` grant. */
  canPublishData: boolean;
}

export interface WhipPublished {
  /** The resource's id, unguessable: it goes into the `Location` URL. */
  sessionId: string;
  answer: string;
  /** The entity tag of the current ICE session (quoted, RFC 9110 §8.8.3). */
  etag: string;
}

/** A session of `roomId` held by `userId` (anyone else gets not_found). */
export interface WhipSessionRef {
  sessionId: string;
  roomId: RoomId;
  userId: UserId;
}

export interface WhipPatchRequest extends WhipSessionRef {
  /** The `If-Match` header, as sent (absent, `*` or entity tags). */
  ifMatch: string | undefined;
  /** The `application/trickle-ice-sdpfrag` body. */
  fragment: string;
}

/** A WHIP resource's answer to a PATCH, as a WHEP one's (ice-session.ts). */
export type WhipPatchResult = IcePatchResult;
