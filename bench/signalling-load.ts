// Socket load generator of the signalling scenario (a child process on the load cores): Waterbus
// clients (socket.io with the msgpack parser, Bearer token in the handshake) in rooms of its own.
// 'join': every client cycles enter → leave as a Waterbus client does: REST join (a new
// participant), `room.publish` in P2P mode (connectionType 0: no media, the server attaches the
// socket to the room and announces `room.new_participant`), `room.leave` (the row is deleted and
// the room told `room.participant_left`). 'chat': every client has entered its room; the first
// senders of each room post messages over REST (the protocol's chat path) in closed loops, and
// every socket of the room counts the `chat.send` it receives.
import type http from 'node:http';
import { io, type Socket } from 'socket.io-client';
import msgpackParser from 'socket.io-msgpack-parser';
import { httpRequest, keepAliveAgent } from './http-client.ts';
import { LatencyLog, serveLoad } from './load-child.ts';

export interface SignallingLoadConfig {
  baseUrl: string;
  apiKey: string;
  mode: 'join' | 'chat';
  rooms: number;
  perRoom: number;
  /** chat: clients of each room posting messages (closed loops). */
  sendersPerRoom: number;
  /** Makes the external ids of this process's users unique on the server. */
  tag: string;
}

interface Client {
  userId: number;
  token: string;
  roomId: string;
  socket: Socket;
  participantId?: string;
}

const ACK_TIMEOUT_MS = 20_000;
/** A P2P publish carries the offer the server keeps for the peer; it is not negotiated here. */
const P2P_OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendrecv',
  'a=rtpmap:111 opus/48000/2',
  '',
].join('\r\n');

let config: SignallingLoadConfig | undefined;
let agent: http.Agent | undefined;
const clients: Client[][] = [];
let running = false;
const loops: Array<Promise<void>> = [];
const latencies = new LatencyLog();
const counters = { cycles: 0, messages: 0, deliveries: 0, broadcasts: 0, errors: 0 };
let firstError: string | undefined;
const MARK = `m${process.pid}:`;

async function api<T>(method: 'GET' | 'POST', path: string, token: string | undefined, body?: unknown) {
  const headers: Record<string, string> = { 'x-api-key': config!.apiKey };
  if (token) headers.authorization = `Bearer ${token}`;
  const reply = await httpRequest(agent!, config!.baseUrl, {
    method,
    path: `/busapi/v3${path}`,
    headers,
    ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.text);
  } catch {
    parsed = reply.text;
  }
  return { status: reply.status, body: parsed as T };
}

function expect<T>(res: { status: number; body: T }, status: number, what: string): T {
  if (res.status !== status)
    throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  return res.body;
}

function connect(token: string): Promise<Socket> {
  const socket = io(config!.baseUrl, {
    parser: msgpackParser,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: { Authorization: `Bearer ${token}` },
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Acked emit; an `{ error }` ack (the server refused) is thrown. */
async function call(socket: Socket, event: string, payload: unknown): Promise<void> {
  const ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload)) as {
    error?: { message: string };
  };
  if (ack?.error) throw new Error(`${event}: ${ack.error.message}`);
}

/** REST join (a new participant row) then `room.publish` in P2P mode: the client is in the room. */
async function enter(c: Client, timed: boolean): Promise<void> {
  const t0 = performance.now();
  const room = expect(
    await api<{ participants: Array<{ id: number; userId: number }> }>(
      'POST',
      `/rooms/${c.roomId}/join`,
      c.token,
    ),
    201,
    'join',
  );
  const me = room.participants.find((p) => p.userId === c.userId);
  if (!me) throw new Error('join reply without the joining participant');
  c.participantId = String(me.id);
  const t1 = performance.now();
  await call(c.socket, 'room.publish', {
    sdp: P2P_OFFER,
    roomId: c.roomId,
    participantId: c.participantId,
    isVideoEnabled: false,
    isAudioEnabled: true,
    isE2eeEnabled: false,
    totalTracks: 1,
    connectionType: 0,
  });
  if (timed) {
    latencies.add('rest_join', t1 - t0);
    latencies.add('publish', performance.now() - t1);
  }
}

async function setupRoom(r: number): Promise<Client[]> {
  const c = config!;
  const users: Array<{ userId: number; token: string }> = [];
  for (let i = 0; i < c.perRoom; i++) {
    const externalId = `${c.tag}-r${r}-u${i}`;
    const body = expect(
      await api<{ token: string; user: { id: number } }>('POST', '/auth', undefined, {
        fullName: `bench ${externalId}`,
        externalId,
      }),
      201,
      'login',
    );
    users.push({ userId: body.user.id, token: body.token });
  }
  const room = expect(
    await api<{ id: number; code: string }>('POST', '/rooms', users[0]!.token, { title: 'bench' }),
    201,
    'create room',
  );
  const roomClients: Client[] = [];
  for (const u of users) {
    // A non-member opens the room by its code before joining (the protocol's flow).
    if (u !== users[0]) expect(await api('GET', `/rooms/${room.code}`, u.token), 200, 'open by code');
    const socket = await connect(u.token);
    const client: Client = { ...u, roomId: String(room.id), socket };
    if (c.mode === 'chat') {
      socket.on('chat.send', (m: { data?: unknown }) => {
        counters.deliveries++;
        if (typeof m?.data === 'string' && m.data.startsWith(MARK))
          latencies.add('delivery', performance.now() - Number(m.data.slice(MARK.length)));
      });
      await enter(client, false);
    } else {
      socket.on('room.new_participant', () => counters.broadcasts++);
      socket.on('room.participant_left', () => counters.broadcasts++);
    }
    roomClients.push(client);
  }
  return roomClients;
}

function failed(err: unknown): Promise<void> {
  counters.errors++;
  firstError ??= String((err as Error)?.message ?? err);
  // Why: a refused operation must not turn into a busy loop against the server.
  return new Promise((r) => setTimeout(r, 50));
}

async function joinLoop(c: Client): Promise<void> {
  while (running) {
    const t0 = performance.now();
    try {
      await enter(c, true);
      const t1 = performance.now();
      await call(c.socket, 'room.leave', { roomId: c.roomId });
      const t2 = performance.now();
      counters.cycles++;
      latencies.add('leave', t2 - t1);
      latencies.add('cycle', t2 - t0);
    } catch (err) {
      await failed(err);
    }
  }
}

async function chatLoop(c: Client): Promise<void> {
  while (running) {
    const t0 = performance.now();
    try {
      const res = await api('POST', `/chats/${c.roomId}`, c.token, { data: `${MARK}${t0}` });
      expect(res, 201, 'chat');
      counters.messages++;
      latencies.add('post', performance.now() - t0);
    } catch (err) {
      await failed(err);
    }
  }
}

serveLoad({
  async setup(raw) {
    config = raw as SignallingLoadConfig;
    agent = keepAliveAgent(Math.min(512, config.rooms * config.perRoom));
    // Rooms are set up a few at a time (logins and sockets in parallel across rooms).
    let next = 0;
    const worker = async () => {
      while (next < config!.rooms) {
        const r = next++;
        clients[r] = await setupRoom(r);
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, config.rooms) }, worker));
  },
  go() {
    if (running || !config) return;
    running = true;
    for (const room of clients)
      if (config.mode === 'join') for (const c of room) loops.push(joinLoop(c));
      else for (const c of room.slice(0, config.sendersPerRoom)) loops.push(chatLoop(c));
  },
  stats: () => ({ counters: { ...counters }, latenciesMs: latencies.take(), firstError }),
  async stop() {
    running = false;
    await Promise.all(loops);
    for (const room of clients) for (const c of room) c.socket.close();
    agent?.destroy();
  },
});
