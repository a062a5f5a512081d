import { type IceCredentials, type IceFragment, parseIceFragment } from './whip-sdp.ts';

/**
 * The ICE session of a WHIP (RFC 9725 §4.3) or WHEP (draft-ietf-wish-whep) resource as its PATCH
 * sees it: the entity tag naming the current ICE session, `If-Match` against it, and whether a
 * fragment trickles candidates or restarts ICE. Pure functions; each resource keeps its state.
 */

/** What a PATCH asks of the resource's ICE session. */
export type IcePatch =
  /** `If-Match` names another ICE session (RFC 9725 §4.3.1: 412 Precondition Failed). */
  | { kind: 'stale_etag' }
  /** Candidates (or end-of-candidates) of the current ICE session. */
  | { kind: 'trickle'; fragment: IceFragment }
  /** New credentials (RFC 9725 §4.3.2): an ICE restart. */
  | { kind: 'restart'; credentials: IceCredentials; fragment: IceFragment };

/** What the resource answers a PATCH. */
export type IcePatchResult =
  | { kind: 'trickled' }
  /** An ICE restart: our new credentials and candidates, and the new ICE session's entity tag. */
  | { kind: 'restarted'; fragment: string; etag: string }
  /** `If-Match` named another ICE session (RFC 9725 §4.3.1: 412 Precondition Failed). */
  | { kind: 'stale_etag' };

/** The quoted entity tag (RFC 9110 §8.8.3) of a resource's ICE session: 0 at the start, +1 at each restart. */
export function iceSessionTag(resourceId: string, generation: number): string {
  return `"${resourceId.slice(0, 8)}-${generation}"`;
}

/**
 * Reads a PATCH's `application/trickle-ice-sdpfrag` body against the ICE session tagged `etag`,
 * whose remote ufrag is `remoteUfrag`: credentials with another ufrag are a restart. A TypeError
 * when the body is no fragment (no credentials, candidates or end-of-candidates).
 */
export function readIcePatch(input: {
  fragment: string;
  ifMatch: string | undefined;
  etag: string;
  remoteUfrag: string | undefined;
}): IcePatch {
  const fragment = parseIceFragment(input.fragment);
  if (!ifMatches(input.ifMatch, input.etag)) return { kind: 'stale_etag' };
  const credentials = fragment.credentials;
  if (credentials !== undefined && credentials.ufrag !== input.remoteUfrag)
    return { kind: 'restart', credentials, fragment };
  return { kind: 'trickle', fragment };
}

/**
 * `If-Match` (RFC 9110 §13.1.1): absent or `*` matches; otherwise one of its entity tags must be
 * the current one. Weak tags compare by their opaque part.
 */
export function ifMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined || header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
