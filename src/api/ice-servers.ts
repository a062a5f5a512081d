import { createHmac } from 'node:crypto';

/** The STUN and TURN servers clients are told about (STUN_URLS, TURN_URLS, TURN_SECRET, TURN_TTL_SECONDS). */
export interface IceServerOptions {
  stunUrls: string[];
  /** Absent when no TURN server is configured: then no credential is ever handed out. */
  turn: TurnOptions | undefined;
}

export interface TurnOptions {
  /** `turn:` / `turns:` URLs of one TURN deployment sharing `secret` (coturn's static-auth-secret). */
  urls: string[];
  secret: string;
  /** How long a handed-out credential stays valid. */
  ttlS: number;
}

/** One entry of the Waterbus reply `{ iceServers: [...] }` (the shape of WebRTC's RTCIceServer). */
export interface IceServerJson {
  urls: string[];
  username?: string;
  credential?: string;
}

/**
 * A time-limited TURN credential by the TURN REST API scheme
 * (https://datatracker.ietf.org/doc/html/draft-uberti-behave-turn-rest-00#section-2.2): username
 * `<expiry unix time>:<user id>`, password base64(HMAC-SHA1(secret, username)). coturn checks it
 * with `use-auth-secret` and the same `static-auth-secret`, without any call to this server.
 */
export function turnCredential(
  turn: Pick<TurnOptions, 'secret' | 'ttlS'>,
  userId: string,
  nowMs: number,
): { username: string; credential: string } {
  const expiryS = Math.floor(nowMs / 1000) + turn.ttlS;
  const username = `${expiryS}:${userId}`;
  const credential = createHmac('sha1', turn.secret).update(username).digest('base64');
  return { username, credential };
}

/** What GET /auth/ice-servers answers a user: the STUN servers, then TURN with a fresh credential. */
export function iceServersFor(options: IceServerOptions, userId: string, nowMs: number): IceServerJson[] {
  const servers: IceServerJson[] = [];
  if (options.stunUrls.length > 0) servers.push({ urls: [...options.stunUrls] });
  if (options.turn && options.turn.urls.length > 0) {
    servers.push({ urls: [...options.turn.urls], ...turnCredential(options.turn, userId, nowMs) });
  }
  return servers;
}
