import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { UserId } from '../lib/ids.ts';
import type { RoomGrant } from '../store/join-token-user.ts';

/** Who may call a route: the API key alone, or the API key plus an access or a refresh token. */
export type RouteAuth = 'apiKey' | 'access' | 'refresh' | 'public';

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The caller, from the access token (routes with auth 'access' or 'refresh'). */
  userId: UserId;
  /** Set when the caller holds a join token: the one room it may act in, and its grants. */
  grant: RoomGrant | undefined;
  request: FastifyRequest;
}

/**
 * One REST route: its schemas (validated before the handler runs; a failure is a 400 naming the
 * field), its auth and success status, and a handler returning the JSON body. The same table
 * produces the OpenAPI document.
 */
export interface RouteDef<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Fastify path under /busapi/v3, e.g. `/rooms/:roomId`. */
  path: string;
  auth: RouteAuth;
  summary: string;
  tag: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Status of a successful reply (Waterbus uses 201 for most POSTs). */
  successStatus?: number;
  /** Reply as text/plain instead of JSON. */
  text?: boolean;
  /** The JSON reply's schema, for the OpenAPI document (replies are not validated at run time). */
  reply?: z.ZodType;
  /**
   * Join tokens may call this route although it names no room (by default a join token acts only
   * on routes naming its own room).
   */
  joinTokenOutsideRoom?: boolean;
  handler(ctx: RouteContext<P, Q, B>): Promise<unknown>;
}

/** Keeps the schema types of one route together while collecting routes in an array. */
export function route<P = unknown, Q = unknown, B = unknown>(def: RouteDef<P, Q, B>): RouteDef {
  return def as unknown as RouteDef;
}
