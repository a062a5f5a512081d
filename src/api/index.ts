// api/: the Waterbus-compatible REST API (routes, HTTP server, OpenAPI/docs). May import lib/, store/, protocol/ types, fastify and zod.
import type { ApiDeps } from './deps.ts';
import type { RouteDef } from './route.ts';
import { adminRoutes } from './routes/admin.ts';
import { authRoutes } from './routes/auth.ts';
import { chatRoutes } from './routes/chats.ts';
import { egressRoutes } from './routes/egress.ts';
import { healthRoutes } from './routes/health.ts';
import { iceServerRoutes } from './routes/ice-servers.ts';
import { roomMemberRoutes } from './routes/room-members.ts';
import { roomRoutes } from './routes/rooms.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { userRoutes } from './routes/users.ts';

export type { ApiDeps, AuthOptions, StorageOptions } from './deps.ts';
export { registerDocs } from './docs.ts';
export { API_PREFIX, createHttpServer, type HttpServerOptions } from './http-server.ts';
export type { IceServerOptions } from './ice-servers.ts';
export type { RouteDef } from './route.ts';
export { registerWhep, type WhepOptions } from './whep/whep-routes.ts';

/** Every REST route under /busapi/v3. */
export function apiRoutes(deps: ApiDeps): RouteDef[] {
  return [
    ...healthRoutes(deps),
    ...authRoutes(deps),
    ...iceServerRoutes(deps),
    ...userRoutes(deps),
    ...roomRoutes(deps),
    ...roomMemberRoutes(deps),
    ...chatRoutes(deps),
    ...tokenRoutes(deps),
    ...egressRoutes(deps),
    ...adminRoutes(deps),
  ];
}
