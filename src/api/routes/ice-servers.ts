import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { iceServersFor } from '../ice-servers.ts';
import { type RouteDef, route } from '../route.ts';

/** The reply newer Waterbus clients expect: WebRTC RTCIceServer entries. */
export const iceServersReply = z.object({
  iceServers: z.array(
    z.object({
      urls: z.array(z.string()),
      username: z.string().optional(),
      credential: z.string().optional(),
    }),
  ),
});

/**
 * GET /auth/ice-servers: the configured STUN servers and, when TURN is configured, its URLs with
 * a credential of the caller valid for TURN_TTL_SECONDS (see ice-servers.ts). Minting is one
 * HMAC, so the server-wide per-IP limit covers it, as for the other auth routes.
 */
export function iceServerRoutes(deps: ApiDeps): RouteDef[] {
  const options = deps.ice ?? { stunUrls: [], turn: undefined };
  return [
    route({
      method: 'GET',
      path: '/auth/ice-servers',
      auth: 'access',
      // A join token's holder relays its media like anyone else: the route names no room.
      joinTokenOutsideRoom: true,
      tag: 'auth',
      summary:
        'STUN and TURN servers for RTCPeerConnection, with a time-limited TURN credential (TURN REST API)',
      reply: iceServersReply,
      async handler({ userId }): Promise<z.infer<typeof iceServersReply>> {
        return { iceServers: iceServersFor(options, String(userId), Date.now()) };
      },
    }),
  ];
}
