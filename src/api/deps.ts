import type { Logger } from '../lib/logger.ts';
import type { ParticipantControl } from '../protocol/participant-control.ts';
import type { RoomBroadcaster } from '../protocol/room-broadcaster.ts';
import type { SfuApi } from '../protocol/sfu-api.ts';
import type { Store } from '../store/types.ts';
import type { IceServerOptions } from './ice-servers.ts';
import type { RouteRateLimits } from './ip-rate-limit.ts';
import type { RoomPasswordGuard } from './room-password-guard.ts';

/** What the admin routes use: the SFU's view of a room, and signalling's participant actions. */
export interface AdminControl {
  sfu: Pick<SfuApi, 'inspectRoom'>;
  participants: ParticipantControl;
}

/** The SfuApi operations the egress routes use. */
export type EgressControl = Pick<SfuApi, 'startEgress' | 'stopEgress' | 'listEgress'>;

export interface AuthOptions {
  apiKey: string;
  jwtSecret: string;
  refreshSecret: string;
  accessTokenTtlS: number;
  refreshTokenTtlS: number;
  /**
   * `open` (Waterbus): POST /auth trusts the externalId sent with the API key. `strict`: it needs
   * an identity assertion signed with `identitySecret` (see identity-assertion.ts).
   */
  loginMode: 'open' | 'strict';
  identitySecret: string | undefined;
}

export interface StorageOptions {
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  region: string;
  endpointUrl: string | undefined;
  customDomain: string | undefined;
}

/** What the REST routes are given; route files export `xxxRoutes(deps): RouteDef[]`. */
export interface ApiDeps {
  store: Store;
  auth: AuthOptions;
  storage: StorageOptions | undefined;
  broadcaster: RoomBroadcaster;
  logger: Logger;
  /** Throttles wrong room passwords; one is made with the default limits when not given. */
  passwordGuard?: RoomPasswordGuard;
  /**
   * How long a dropped participant keeps its place (RECONNECT_GRACE_SECONDS): a non-member keeps
   * chat access that long. Default 30 s.
   */
  reconnectGraceMs?: number;
  /** Egress control (the SfuApi); without it the egress routes answer 501. */
  egress?: EgressControl;
  /** The admin routes' SFU and signalling sides; without them those routes answer 501. */
  admin?: AdminControl;
  /** STUN and TURN servers handed to clients (GET /auth/ice-servers); none when not given. */
  ice?: IceServerOptions;
  /** Per-IP limits of guest login, guest rooms and token minting; DEFAULT_ROUTE_RATE_LIMITS when not given. */
  rateLimits?: RouteRateLimits;
}
