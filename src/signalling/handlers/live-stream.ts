import { SfuError } from '../../lib/errors.ts';
import type { EgressInfo } from '../../protocol/egress.ts';
import { hlsLiveStreamSchema } from '../messages.ts';
import type { Session } from '../session.ts';
import { handler } from './handler.ts';

/**
 * `room.subscribe_hls_live_stream` (newer Waterbus SDKs): where to watch `targetId` as HLS. The
 * answer is the same event `{ hlsUrls: [absolute URL of the master playlist] }`; a server without
 * egress, or a target nobody streams, gets `system.error`.
 */
export const subscribeHlsLiveStream = handler({
  event: 'room.subscribe_hls_live_stream',
  schema: hlsLiveStreamSchema,
  async run(ctx, session, p) {
    const self = ctx.requireEntry(session, p.roomId);
    if (self.participantId !== p.participantId) {
      throw new SfuError('permission_denied', 'participantId must be your own participant');
    }
    const egresses = await ctx.sfu.listEgress(p.roomId);
    const live = egresses.filter((e) => e.kind === 'hls' && isRunning(e) && e.playlist !== null);
    // A participant's own stream first, else a room stream that shows everyone.
    const chosen =
      live.find((e) => e.participantId === p.targetId) ?? live.find((e) => e.participantId === null);
    if (!chosen?.playlist) {
      throw new SfuError('not_found', `participant ${p.targetId} is not streamed as HLS in room ${p.roomId}`);
    }
    const reply = { hlsUrls: [new URL(chosen.playlist, egressRoot(chosen, session)).toString()] };
    session.endpoint.emit('room.subscribe_hls_live_stream', reply);
    return reply;
  },
});

function isRunning(e: EgressInfo): boolean {
  return e.state === 'starting' || e.state === 'active';
}

/**
 * The node's own egress root (EGRESS_PUBLIC_URL), else this server's `/egress/` as the client
 * reached it (the Host header of its connection; https when the connection was secure or a proxy
 * in front said so: X-Forwarded-Proto, which only shapes the URL handed back to this same client).
 */
function egressRoot(info: EgressInfo, session: Session): string {
  if (info.baseUrl) return info.baseUrl;
  const { headers, secure } = session.endpoint.handshake;
  const forwarded = String(headers['x-forwarded-proto'] ?? '')
    .split(',')[0]
    ?.trim();
  const proto = secure || forwarded === 'https' ? 'https' : 'http';
  return `${proto}://${headers.host ?? 'localhost'}/egress/`;
}
