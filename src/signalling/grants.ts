import { SfuError } from '../lib/errors.ts';
import type { RoomId } from '../lib/ids.ts';
import type { Participant } from '../store/types.ts';
import type { AnySession } from './session.ts';

/**
 * The grants of a join token on the socket: the room it is for, `canPublish` (an offer may only
 * receive), `canSubscribe`, `hidden`; `canPublishData` and `hidden` travel to the SFU, which drops
 * the room data messages and leaves hidden speakers out. A session of an access token has no grant
 * and may do all of it.
 */

/** permission_denied unless the session may act in `roomId`. */
export function requireGrantedRoom(session: AnySession, roomId: RoomId): void {
  const grant = session.grant;
  if (grant && String(grant.roomId) !== roomId)
    throw new SfuError('permission_denied', `this token is valid for room ${grant.roomCode} only`);
}

/** permission_denied when the session may not publish and the offer sends audio or video. */
export function requirePublishGrant(session: AnySession, sdp: string): void {
  if (session.grant && !session.grant.grants.canPublish && sendsMedia(sdp))
    throw new SfuError('permission_denied', 'this token may not publish: offer receive-only media');
}

export function requireSubscribeGrant(session: AnySession): void {
  if (session.grant && !session.grant.grants.canSubscribe)
    throw new SfuError('permission_denied', 'this token may not subscribe');
}

/**
 * Whether the participant is kept from the others: the session's join token says so, or the row
 * was joined with one (then another socket of the same user cannot unhide it).
 */
export function isHidden(session: AnySession, row: Pick<Participant, 'hidden'>): boolean {
  return session.grant?.grants.hidden === true || row.hidden;
}

/** Whether the SFU relays the participant's messages on the room data channels. */
export function mayPublishData(session: AnySession): boolean {
  return session.grant?.grants.canPublishData !== false;
}

/** The grants the SFU enforces itself, for its join request. */
export function sfuJoinGrants(
  session: AnySession,
  entry: { hidden?: boolean | undefined },
): { canPublishData: boolean; hidden: boolean } {
  return { canPublishData: mayPublishData(session), hidden: entry.hidden === true };
}

/**
 * Whether an SDP offer has an audio or video section that sends: not rejected (port 0) and
 * `sendrecv` (the default, RFC 3264 §5.1) or `sendonly`.
 */
export function sendsMedia(sdp: string): boolean {
  const sections = sdp.split(/\r?\n(?=m=)/).slice(1);
  return sections.some((section) => {
    const mline = /^m=(\S+) (\d+)/.exec(section);
    if (!mline || (mline[1] !== 'audio' && mline[1] !== 'video') || mline[2] === '0') return false;
    const direction = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(section)?.[1] ?? 'sendrecv';
    return direction === 'sendrecv' || direction === 'sendonly';
  });
}
