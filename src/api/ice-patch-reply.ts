import type { FastifyReply } from 'fastify';
import type { IcePatchResult } from '../protocol/ice-session.ts';
import { SDP_FRAGMENT_MIME } from '../protocol/whip-sdp.ts';
import { HttpError } from './http-errors.ts';

/**
 * A WHIP or WHEP session resource's answer to a PATCH (RFC 9725 §4.3): 204 for trickled
 * candidates, 200 with our new credentials and candidates (`application/trickle-ice-sdpfrag`) and
 * the new ICE session's ETag for an ICE restart, 412 when If-Match names an earlier ICE session.
 */
export function replyToIcePatch(reply: FastifyReply, result: IcePatchResult): FastifyReply {
  if (result.kind === 'stale_etag') throw new HttpError(412, 'If-Match names an earlier ICE session');
  if (result.kind === 'trickled') return reply.code(204).send();
  return reply.code(200).type(SDP_FRAGMENT_MIME).header('etag', result.etag).send(result.fragment);
}
