// Users, rooms and participants for a bench step, over the REST API as a Waterbus app makes them
// (POST /auth, POST /rooms, POST /rooms/:id/join).
import type { WaterbusIdentity } from './signal.ts';

export interface ProvisionedRoom {
  roomId: string;
  /** The room's code: a non-member opens the room by it (GET /rooms/:code) before joining. */
  code: string;
  /** One identity per participant, in the order asked for. */
  participants: WaterbusIdentity[];
}

let userCounter = 0;

async function rest<T>(
  baseUrl: string,
  apiKey: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { 'x-api-key': apiKey };
  if (token) headers.authorization = `Bearer ${token}`;
  // A GET carries no body (fetch refuses one).
  if (method !== 'GET') headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}/busapi/v3${path}`, {
    method,
    headers,
    body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the error message
  }
  return { status: res.status, body: parsed as T };
}

async function login(baseUrl: string, apiKey: string): Promise<{ id: number; token: string }> {
  const n = ++userCounter;
  return loginAs(baseUrl, apiKey, `bench-${process.pid}-${n}-${Date.now()}`);
}

/** Logs in (creating the user the first time) as `externalId`, as a returning Waterbus user does. */
export async function loginAs(
  baseUrl: string,
  apiKey: string,
  externalId: string,
): Promise<{ id: number; token: string }> {
  const res = await rest<{ token: string; user: { id: number } }>(
    baseUrl,
    apiKey,
    'POST',
    '/auth',
    undefined,
    { fullName: `bench ${externalId}`, externalId },
  );
  if (res.status !== 201) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, token: res.body.token };
}

/** A new room created by `token`'s user. */
export async function createRoom(
  baseUrl: string,
  apiKey: string,
  token: string,
): Promise<{ roomId: string; code: string }> {
  const room = await rest<{ id: number; code: string }>(baseUrl, apiKey, 'POST', '/rooms', token, {
    title: 'bench',
  });
  if (room.status !== 201) throw new Error(`create room failed: ${room.status} ${JSON.stringify(room.body)}`);
  return { roomId: String(room.body.id), code: room.body.code };
}

/** A room with `count` participants joined over REST (in parallel batches). */
export async function provisionRoom(
  baseUrl: string,
  apiKey: string,
  count: number,
): Promise<ProvisionedRoom> {
  const users: Array<{ id: number; token: string }> = [];
  for (let i = 0; i < count; i += 20)
    users.push(
      ...(await Promise.all(Array.from({ length: Math.min(20, count - i) }, () => login(baseUrl, apiKey)))),
    );
  const room = await rest<{ id: number; code: string }>(baseUrl, apiKey, 'POST', '/rooms', users[0]!.token, {
    title: 'bench',
  });
  if (room.status !== 201) throw new Error(`create room failed: ${room.status} ${JSON.stringify(room.body)}`);
  const roomId = String(room.body.id);
  const participants: WaterbusIdentity[] = [];
  for (const user of users) {
    // The protocol's flow: open the room by its code (what lets a non-member join), then join.
    await rest(baseUrl, apiKey, 'GET', `/rooms/${room.body.code}`, user.token);
    const res = await rest<{ participants: Array<{ id: number; userId: number }> }>(
      baseUrl,
      apiKey,
      'POST',
      `/rooms/${roomId}/join`,
      user.token,
      {},
    );
    if (res.status !== 201) throw new Error(`join failed: ${res.status} ${JSON.stringify(res.body)}`);
    const me = res.body.participants.find((p) => p.userId === user.id);
    if (!me) throw new Error('join reply without the joining participant');
    participants.push({ baseUrl, token: user.token, roomId, participantId: String(me.id) });
  }
  return { roomId, code: room.body.code, participants };
}

/** One more participant (a new user) joined to an existing room. */
export async function joinRoom(
  baseUrl: string,
  apiKey: string,
  room: { roomId: string; code: string },
): Promise<WaterbusIdentity> {
  return joinRoomAs(baseUrl, apiKey, room, await login(baseUrl, apiKey));
}

/** `user` joined to an existing room (opened by its code first, as the protocol asks). */
export async function joinRoomAs(
  baseUrl: string,
  apiKey: string,
  room: { roomId: string; code: string },
  user: { id: number; token: string },
): Promise<WaterbusIdentity> {
  const { roomId, code } = room;
  await rest(baseUrl, apiKey, 'GET', `/rooms/${code}`, user.token);
  const res = await rest<{ participants: Array<{ id: number; userId: number }> }>(
    baseUrl,
    apiKey,
    'POST',
    `/rooms/${roomId}/join`,
    user.token,
    {},
  );
  const me = res.status === 201 ? res.body.participants.find((p) => p.userId === user.id) : undefined;
  if (!me) throw new Error(`join failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { baseUrl, token: user.token, roomId, participantId: String(me.id) };
}
