import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import type { ParticipantId, UserId } from '../../src/lib/ids.ts';
import { DEFAULT_GRANTS, mintJoinToken } from '../../src/lib/join-token.ts';
import { signToken } from '../../src/lib/jwt.ts';
import type { JoinRequest, SfuApi, SfuEvent } from '../../src/protocol/sfu-api.ts';
import { unavailableSfu } from '../../src/sfu/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { connectSocket, nextEvent, recordEvents } from '../support/clients.ts';
import { type InProcessSignalling, startInProcessSignalling } from '../support/in-process-signalling.ts';
import { pushedEvents } from '../support/pushed-events.ts';

const SECRET = 'hidden-signalling-secret-0123456789';
const IDENTITY_SECRET = 'hidden-identity-secret-0123456789-abcdef';
const SENDING = 'v=0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\n';

/** An SfuApi that answers join and subscribe, records joins, and whose room events the test pushes. */
function scriptedSfu(): SfuApi & { joins: JoinRequest[]; push(roomId: string, event: SfuEvent): void } {
  const joins: JoinRequest[] = [];
  return {
    ...unavailableSfu(),
    ...pushedEvents(),
    joins,
    async join(req) {
      joins.push(req);
      return { sdp: 'answer', isRecording: false };
    },
    async subscribe() {
      return { offer: 'offer', videoCodec: '' };
    },
    async leave() {},
  };
}

interface Instance extends InProcessSignalling {
  sfu: ReturnType<typeof scriptedSfu>;
}

/**
 * A hidden participant (join token `hidden`) seen from signalling: two signalling instances share
 * one store (as a cluster does) with scripted SFUs. Hidden means unannounced, yet subscribable.
 */
describe('security: hidden participants in signalling', () => {
  let store: Store;
  const instances: Instance[] = [];
  const sockets: Socket[] = [];
  let room: { id: number; code: string };

  async function instance(): Promise<Instance> {
    const sfu = scriptedSfu();
    const started = await startInProcessSignalling({
      store,
      sfu,
      jwtSecret: SECRET,
      identitySecret: IDENTITY_SECRET,
      nodeId: `signalling-${instances.length}`,
    });
    const created = { ...started, sfu };
    instances.push(created);
    return created;
  }

  before(async () => {
    store = await openStore({ sqlitePath: ':memory:' });
    room = await store.rooms.create({
      title: 'r',
      passwordHash: null,
      avatar: null,
      code: 'hid-defg-hij',
      type: 0,
    });
  });
  after(async () => {
    for (const s of sockets) s.close();
    for (const i of instances) await i.close();
    await store.close();
  });

  /** A user's socket on `at` holding a new participant of the room; `hidden` uses a join token. */
  async function participant(at: Instance, name: string, options: { hidden?: boolean } = {}) {
    const user = await store.users.create({ fullName: name, externalId: `ext-${name}`, userName: name });
    const row = await store.participants.create({ roomId: room.id, userId: user.id });
    const token = options.hidden
      ? mintJoinToken(
          {
            identity: `ext-${name}`,
            room: room.code,
            grants: { ...DEFAULT_GRANTS, hidden: true },
            ttlS: 600,
          },
          IDENTITY_SECRET,
        )
      : signToken({ id: String(user.id as UserId), exp: Math.floor(Date.now() / 1000) + 600 }, SECRET);
    const socket = await connectSocket(at.baseUrl, token);
    sockets.push(socket);
    return { socket, pid: String(row.id) as ParticipantId };
  }

  async function publishSfu(p: { socket: Socket; pid: string }) {
    const ack = await p.socket.emitWithAck('room.publish', {
      sdp: SENDING,
      roomId: String(room.id),
      participantId: p.pid,
      isVideoEnabled: true,
      isAudioEnabled: true,
      isE2eeEnabled: false,
      totalTracks: 1,
      connectionType: 1,
    });
    assert.equal(ack.error, undefined, JSON.stringify(ack));
  }

  it("a hidden SFU publisher's node is recorded without announcing it, so a participant on another instance can subscribe to it", async () => {
    const a = await instance();
    const b = await instance();
    const watcher = await participant(a, 'h-watcher');
    await watcher.socket.emitWithAck('room.reconnect', {
      roomId: String(room.id),
      participantId: watcher.pid,
    });
    const seen = recordEvents(watcher.socket);
    const ghost = await participant(a, 'h-ghost', { hidden: true });
    const visible = await participant(a, 'h-visible');
    await publishSfu(ghost);
    await publishSfu(visible);
    assert.deepEqual(
      a.sfu.joins.map((j) => j.hidden),
      [true, false],
      'the SFU is told who is hidden',
    );
    const announced = nextEvent<{ participant: { id: number } }>(watcher.socket, 'room.new_participant');
    a.sfu.push(String(room.id), {
      type: 'publisherReady',
      participantId: ghost.pid,
      nodeId: 'sfu-1',
      isMigrate: false,
    });
    a.sfu.push(String(room.id), {
      type: 'publisherReady',
      participantId: visible.pid,
      nodeId: 'sfu-1',
      isMigrate: false,
    });
    // The room pump handles events in order: the ghost's was done before this one arrived.
    assert.equal(String((await announced).participant.id), visible.pid);
    const ids = seen
      .filter((e) => e.event === 'room.new_participant')
      .map((e) => String((e.payload as { participant: { id: number } }).participant.id));
    assert.deepEqual(ids, [visible.pid], 'only the visible publisher is announced');
    assert.equal(
      (await store.participants.findById(Number(ghost.pid)))?.nodeId,
      'sfu-1',
      'its node is recorded',
    );

    const remote = await participant(b, 'h-remote');
    await remote.socket.emitWithAck('room.reconnect', { roomId: String(room.id), participantId: remote.pid });
    const reply = await remote.socket.emitWithAck('room.subscribe', {
      roomId: String(room.id),
      participantId: remote.pid,
      targetId: ghost.pid,
    });
    assert.equal(reply.error, undefined, JSON.stringify(reply));
    assert.equal(reply.targetId, ghost.pid);
  });

  it("a hidden participant's connection quality goes to itself only", async () => {
    const a = instances[0]!;
    const watcher = await participant(a, 'q-watcher');
    await watcher.socket.emitWithAck('room.reconnect', {
      roomId: String(room.id),
      participantId: watcher.pid,
    });
    const ghost = await participant(a, 'q-ghost', { hidden: true });
    await ghost.socket.emitWithAck('room.reconnect', { roomId: String(room.id), participantId: ghost.pid });
    const seen = recordEvents(watcher.socket);
    const own = nextEvent<{ participantId: string }>(
      ghost.socket,
      'room.connection_quality',
      5000,
      (m) => m.participantId === ghost.pid,
    );
    const other = nextEvent<{ participantId: string }>(
      watcher.socket,
      'room.connection_quality',
      5000,
      (m) => m.participantId === watcher.pid,
    );
    const quality = (participantId: ParticipantId): SfuEvent => ({
      type: 'connectionQuality',
      participantId,
      quality: 'poor',
      score: 40,
    });
    a.sfu.push(String(room.id), quality(ghost.pid));
    a.sfu.push(String(room.id), quality(watcher.pid));
    assert.equal((await own).participantId, ghost.pid, 'the hidden participant sees its own quality');
    await other;
    const named = seen
      .filter((e) => e.event === 'room.connection_quality')
      .map((e) => (e.payload as { participantId: string }).participantId);
    assert.deepEqual(named, [watcher.pid], 'the others never hear of the hidden one');
  });

  it('a hidden participant that comes back with room.reconnect still leaves without a room.participant_left', async () => {
    const a = instances[0]!;
    const watcher = await participant(a, 'r-watcher');
    await watcher.socket.emitWithAck('room.reconnect', {
      roomId: String(room.id),
      participantId: watcher.pid,
    });
    const ghost = await participant(a, 'r-ghost', { hidden: true });
    const visible = await participant(a, 'r-visible');
    for (const p of [ghost, visible])
      await p.socket.emitWithAck('room.reconnect', { roomId: String(room.id), participantId: p.pid });
    const seen = recordEvents(watcher.socket);
    const left = nextEvent<{ targetId: string }>(
      watcher.socket,
      'room.participant_left',
      5000,
      (m) => m.targetId === visible.pid,
    );
    await ghost.socket.emitWithAck('room.leave', { roomId: String(room.id) });
    await visible.socket.emitWithAck('room.leave', { roomId: String(room.id) });
    await left;
    const targets = seen
      .filter((e) => e.event === 'room.participant_left')
      .map((e) => (e.payload as { targetId: string }).targetId);
    assert.deepEqual(targets, [visible.pid]);
  });
});
