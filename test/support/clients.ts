import { io, type Socket } from 'socket.io-client';
import msgpackParser from 'socket.io-msgpack-parser';
import { API_KEY } from './server.ts';

export interface ApiReply<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** A REST client speaking as a Waterbus app: X-API-Key always, Bearer token when given. */
export function restClient(baseUrl: string, apiKey: string = API_KEY) {
  return async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown } = {},
  ): Promise<ApiReply<T>> {
    const headers: Record<string, string> = { 'x-api-key': apiKey };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}/busapi/v3${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Plain-text replies (health check, 404) stay strings.
    }
    return { status: res.status, body: body as T };
  };
}

export type RestCall = ReturnType<typeof restClient>;

export interface TestUser {
  id: number;
  token: string;
  refreshToken: string;
}

export async function login(call: RestCall, externalId: string, fullName = externalId): Promise<TestUser> {
  const res = await call<{ token: string; refreshToken: string; user: { id: number } }>('POST', '/auth', {
    body: { fullName, externalId },
  });
  if (res.status !== 201) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, token: res.body.token, refreshToken: res.body.refreshToken };
}

/** A socket.io client with the msgpack parser and the Waterbus `Authorization: Bearer` header. */
export async function connectSocket(
  baseUrl: string,
  token: string | undefined,
  options: { viaAuth?: boolean; extraHeaders?: Record<string, string>; transports?: string[] } = {},
): Promise<Socket> {
  const socket = io(baseUrl, {
    parser: msgpackParser,
    transports: options.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: {
      ...options.extraHeaders,
      ...(token && !options.viaAuth ? { Authorization: `Bearer ${token}` } : {}),
    },
    auth: token && options.viaAuth ? { token } : {},
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
  return socket;
}

/** Resolves with the next payload of `event` that `accept` takes, or rejects after `timeoutMs`. */
export function nextEvent<T = Record<string, unknown>>(
  socket: Socket,
  event: string,
  timeoutMs = 3000,
  accept: (payload: T) => boolean = () => true,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, onEvent);
      reject(new Error(`timed out waiting for '${event}'`));
    }, timeoutMs);
    const onEvent = (payload: T) => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      socket.off(event, onEvent);
      resolve(payload);
    };
    socket.on(event, onEvent);
  });
}

/** Records every event a socket receives, to assert that something did NOT arrive. */
export function recordEvents(socket: Socket): Array<{ event: string; payload: unknown }> {
  const seen: Array<{ event: string; payload: unknown }> = [];
  socket.onAny((event: string, payload: unknown) => seen.push({ event, payload }));
  return seen;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A room created by the first user, opened by its code and joined over REST by every user in order
 * (as clients do before publishing); returns the room id and each user's participant id, as the socket uses them.
 */
export async function roomWithParticipants(
  call: RestCall,
  users: TestUser[],
  title: string,
): Promise<{ roomId: string; code: string; pids: string[] }> {
  const room = await call<{ id: number; code: string }>('POST', '/rooms', {
    token: users[0]!.token,
    body: { title },
  });
  if (room.status !== 201) throw new Error(`create room failed: ${room.status}`);
  const roomId = String(room.body.id);
  const pids: string[] = [];
  for (const user of users) {
    // The protocol's flow: open the room by its code (what lets a non-member join), then join.
    await call('GET', `/rooms/${room.body.code}`, { token: user.token });
    const res = await call<{ participants: Array<{ id: number; userId: number }> }>(
      'POST',
      `/rooms/${roomId}/join`,
      {
        token: user.token,
        body: {},
      },
    );
    pids.push(String(res.body.participants.find((p) => p.userId === user.id)!.id));
  }
  return { roomId, code: room.body.code, pids };
}
