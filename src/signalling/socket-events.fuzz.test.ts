import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import type { Socket } from 'socket.io-client';
import {
  type Fuzzed,
  fillPlaceholders,
  fuzzAsync,
  loadCorpus,
  mutatedPayload,
  PROTOTYPE_KEYS,
} from '../../test/fuzz/payload-fuzz.ts';
import {
  connectSocket,
  login,
  nextEvent,
  type RestCall,
  restClient,
  type TestUser,
} from '../../test/support/clients.ts';
import { startTestServer, type TestServer } from '../../test/support/server.ts';

/**
 * Fuzz target: every client → server socket.io event (src/signalling/messages.ts and handlers/),
 * sent with an ack by a real msgpack socket.io client to the embedded server (media off: SFU-mode
 * operations answer `unavailable`). Seeds are the Waterbus payloads in
 * test/fuzz/corpus/socket-events/. `FUZZ_RUNS` raises the number of events, `FUZZ_SEED` replays.
 */

const DEFAULT_RUNS = 1000;
const CORPUS = new URL('../../test/fuzz/corpus/socket-events/', import.meta.url);
const SDP_DIR = new URL('../../test/fixtures/sdp/', import.meta.url);
/** Frames up to 1 MiB here, so that strings cross the schemas' own limits (SDP: 100 000). */
const MAX_FRAME_BYTES = 1024 * 1024;
/** msgpack frames nest at most 32 deep (the frame is refused and the socket closed beyond). */
const MUTATION = { maxStringChars: 110_000, maxDepth: 20, binary: true };
const ACK_TIMEOUT_MS = 10_000;
/** What a deliberate refusal of a bad or ill-timed event may say; `internal` is a bug. */
const EXPECTED_CODES = new Set([
  'invalid_argument',
  'invalid_state',
  'not_found',
  'permission_denied',
  'unsupported',
  'unavailable',
]);
/** Events that may take the fuzzing socket out of its room (it is put back after them). */
const DETACHING = new Set(['room.leave', 'room.publish', 'room.migrate', 'room.reconnect']);

interface EventSeed {
  name: string;
  event: string;
  payload: unknown;
}

interface FuzzEvent {
  event: string;
  fuzzed: Fuzzed;
}

interface Ack {
  error?: { code?: unknown; message?: unknown };
}

/** The fuzzing user (alice) in a room with bob, who publishes in P2P mode (a target to subscribe to). */
interface World {
  server: TestServer;
  call: RestCall;
  alice: TestUser;
  socket: Socket;
  others: Socket[];
  values: Values;
}

/** Run-time values of the corpus placeholders (`"$roomId"`...). */
interface Values {
  roomId: string;
  participantId: string;
  targetId: string;
  offer: string;
  answer: string;
}

async function joinRoom(call: RestCall, user: TestUser, roomId: string): Promise<string> {
  const res = await call<{ participants: Array<{ id: number; userId: number }> }>(
    'POST',
    `/rooms/${roomId}/join`,
    {
      token: user.token,
      body: {},
    },
  );
  assert.equal(res.status, 201);
  return String(res.body.participants.find((p) => p.userId === user.id)!.id);
}

function publishP2p(socket: Socket, values: Values) {
  return socket.timeout(ACK_TIMEOUT_MS).emitWithAck('room.publish', {
    sdp: values.offer,
    roomId: values.roomId,
    participantId: values.participantId,
    isVideoEnabled: true,
    isAudioEnabled: true,
    connectionType: 0,
  }) as Promise<Ack>;
}

async function startWorld(errors: string[]): Promise<World> {
  const logger = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
  const server = await startTestServer(
    {
      SOCKET_MAX_MESSAGE_BYTES: String(MAX_FRAME_BYTES),
      SOCKET_EVENTS_PER_SECOND: '1000000',
      SOCKET_EVENTS_BURST: '1000000',
    },
    { logger },
  );
  const call = restClient(server.baseUrl);
  const [alice, bob] = [await login(call, 'fuzz-socket-alice'), await login(call, 'fuzz-socket-bob')];
  const room = await call<{ id: number }>('POST', '/rooms', { token: alice.token, body: { title: 'Fuzz' } });
  const roomId = String(room.body.id);
  await call('POST', `/rooms/${roomId}/members`, { token: alice.token, body: { userId: bob.id } });
  const values: Values = {
    roomId,
    participantId: await joinRoom(call, alice, roomId),
    targetId: await joinRoom(call, bob, roomId),
    offer: readFileSync(new URL('publisher-simulcast.sdp', SDP_DIR), 'utf8'),
    answer: readFileSync(new URL('subscriber-answer.sdp', SDP_DIR), 'utf8'),
  };
  const bobSocket = await connectSocket(server.baseUrl, bob.token);
  assert.deepEqual(await publishP2p(bobSocket, { ...values, participantId: values.targetId }), {});
  const socket = await connectSocket(server.baseUrl, alice.token);
  assert.deepEqual(await publishP2p(socket, values), {});
  return { server, call, alice, socket, others: [bobSocket], values };
}

function eventArbitrary(seeds: EventSeed[]): fc.Arbitrary<FuzzEvent> {
  const known = fc
    .constantFrom(...seeds)
    .chain((s) => mutatedPayload(s.payload, MUTATION).map((fuzzed) => ({ event: s.event, fuzzed })));
  const unknownName = fc
    .tuple(
      fc.oneof(
        fc.constantFrom(...PROTOTYPE_KEYS, 'room.', 'chat.send', 'ROOM.PUBLISH'),
        fc.string({ maxLength: 80 }),
      ),
      fc.constantFrom(...seeds),
    )
    .map(([event, s]) => ({ event, fuzzed: { value: s.payload, kind: 'event-name' } }));
  return fc.oneof({ arbitrary: known, weight: 9 }, { arbitrary: unknownName, weight: 1 });
}

async function send(world: World, e: FuzzEvent): Promise<Ack> {
  const emitter = world.socket.timeout(ACK_TIMEOUT_MS);
  const payload = fillPlaceholders(e.fuzzed.value, { ...world.values });
  const ack = payload === undefined ? emitter.emitWithAck(e.event) : emitter.emitWithAck(e.event, payload);
  return (await ack) as Ack;
}

/** The property: an ack always comes; a refusal has an expected code and names the bad field. */
async function checkEvent(world: World, e: FuzzEvent): Promise<void> {
  const ack = await send(world, e);
  const where = `${e.event} ${e.fuzzed.kind} ${e.fuzzed.field ?? ''} → ${JSON.stringify(ack).slice(0, 300)}`;
  assert.ok(typeof ack === 'object' && ack !== null, where);
  if (ack.error !== undefined) {
    assert.ok(EXPECTED_CODES.has(ack.error.code as string), where);
    assert.ok(typeof ack.error.message === 'string' && ack.error.message.length > 0, where);
    if (ack.error.code === 'invalid_argument' && e.fuzzed.field !== undefined)
      assert.ok(ack.error.message.includes(`at ${e.fuzzed.field}`), where);
  }
  if (DETACHING.has(e.event)) await backInRoom(world);
}

/** Puts the fuzzing socket back into the room (a new participant if its row was deleted). */
async function backInRoom(world: World): Promise<void> {
  const state = (await world.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('room.reconnect', {})) as {
    restored?: boolean;
  };
  if (state.restored) return;
  let ack = await publishP2p(world.socket, world.values);
  if (ack.error?.code === 'not_found' || ack.error?.code === 'permission_denied') {
    world.values.participantId = await joinRoom(world.call, world.alice, world.values.roomId);
    ack = await publishP2p(world.socket, world.values);
  }
  assert.deepEqual(ack, {}, 'the fuzzing socket could not publish again');
}

describe('socket events fuzz target', () => {
  let world: World;
  const errors: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    world = await startWorld(errors);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const s of [world.socket, ...world.others]) s.close();
    await world.server.close();
  });

  it('random, mistyped, huge and nested payloads of every event are acked ok or with an expected code naming the field, never internal', async () => {
    const seeds = loadCorpus<Omit<EventSeed, 'name'>>(CORPUS).map(({ name, entry }) => ({ ...entry, name }));
    await fuzzAsync(eventArbitrary(seeds), (e) => checkEvent(world, e), DEFAULT_RUNS);
    assert.equal(world.socket.connected, true, 'the fuzzing socket was disconnected');
    assert.deepEqual(errors, [], 'the server logged errors');
    assert.deepEqual(unhandled, []);
  });

  it('after the fuzz pass the server still serves a normal flow: join, publish, subscribe', async () => {
    const { call, values } = world;
    const carol = await login(call, 'fuzz-socket-carol');
    await call('POST', `/rooms/${values.roomId}/members`, {
      token: world.alice.token,
      body: { userId: carol.id },
    });
    const carolPid = await joinRoom(call, carol, values.roomId);
    const carolSocket = await connectSocket(world.server.baseUrl, carol.token);
    world.others.push(carolSocket);
    assert.deepEqual(await publishP2p(carolSocket, { ...values, participantId: carolPid }), {});
    await backInRoom(world);
    const answer = nextEvent(world.socket, 'room.answer_subscriber', ACK_TIMEOUT_MS);
    world.socket.emit('room.subscribe', {
      targetId: carolPid,
      roomId: values.roomId,
      participantId: values.participantId,
    });
    assert.equal((await answer).offer, values.offer);
  });
});
