import { z } from 'zod';
import { positiveInt, seconds } from './env-types.ts';

/** The socket.io server's variables: message size, event rates, connections, reconnection grace. */
export const signallingEnv = {
  // The largest legitimate event is a publish offer: 9.4 KB framed for Chromium's audio, simulcast
  // camera, screen share and data channel (test/fixtures/sdp); 64 KiB leaves room for 6x that.
  SOCKET_MAX_MESSAGE_BYTES: positiveInt.default(65_536),
  SOCKET_EVENTS_PER_SECOND: positiveInt.default(50),
  SOCKET_EVENTS_BURST: positiveInt.default(200),
  SOCKET_CONNECTIONS_PER_IP: positiveInt.default(500),
  SOCKET_CONNECTIONS_PER_USER: positiveInt.default(20),
  SOCKET_UNAUTHENTICATED_PER_IP: positiveInt.default(50),
  SOCKET_CONNECT_TIMEOUT_SECONDS: seconds(300).default(10),
  RECONNECT_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
};

export type SignallingEnv = z.infer<z.ZodObject<typeof signallingEnv>>;

export interface SignallingConfig {
  maxMessageBytes: number;
  eventsPerSecond: number;
  eventsBurst: number;
  connectionsPerIp: number;
  connectionsPerUser: number;
  unauthenticatedPerIp: number;
  connectTimeoutMs: number;
  reconnectGraceMs: number;
}

export function signallingSection(e: SignallingEnv): SignallingConfig {
  return {
    maxMessageBytes: e.SOCKET_MAX_MESSAGE_BYTES,
    eventsPerSecond: e.SOCKET_EVENTS_PER_SECOND,
    eventsBurst: e.SOCKET_EVENTS_BURST,
    connectionsPerIp: e.SOCKET_CONNECTIONS_PER_IP,
    connectionsPerUser: e.SOCKET_CONNECTIONS_PER_USER,
    unauthenticatedPerIp: e.SOCKET_UNAUTHENTICATED_PER_IP,
    connectTimeoutMs: Math.round(e.SOCKET_CONNECT_TIMEOUT_SECONDS * 1000),
    reconnectGraceMs: e.RECONNECT_GRACE_SECONDS * 1000,
  };
}
