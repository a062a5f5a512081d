import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { egressDisabled, SfuError, type SfuErrorCode } from '../../src/lib/errors.ts';
import { ParticipantId, RoomId } from '../../src/lib/ids.ts';
import { defaultMediaState, type SfuApi, type SfuDump, type SfuEvent } from '../../src/protocol/sfu-api.ts';
import { SfuGrpcClient, startSfuGrpcServer } from '../../src/rpc/index.ts';

/**
 * What a caller of SfuGrpcClient meets when things go wrong: nodes that are not there, die, stall or
 * get bad input. The node killed here is a child process running this file with BBMEET_GRPC_CHILD=1.
 */

const roomId = RoomId('7');
const alice = ParticipantId('1');

/** An SfuApi with no media: joins answer at once, events come from `emit`, `join` may stall. */
class ScriptedSfu implements SfuApi {
  readonly #listeners = new Set<(e: SfuEvent) => void>();
  stallJoin = false;
  failWith: unknown = null;
  eventsFailWith: unknown = null;

  emit(event: SfuEvent): void {
    for (const l of this.#listeners) l(event);
  }
  get listeners(): number {
    return this.#listeners.size;
  }
  async join() {
    if (this.failWith) throw this.failWith;
    if (this.stallJoin) await new Promise(() => undefined);
    return { sdp: 'v=0\r\n', isRecording: false };
  }
  async subscribe() {
    return { offer: 'v=0\r\n', videoCodec: '' };
  }
  async setSubscriberAnswer() {
    return { refusedTracks: [] };
  }
  async renegotiatePublisher() {
    return { sdp: 'v=0\r\n' };
  }
  async addPublisherCandidate() {}
  async addSubscriberCandidate() {}
  async setMediaState() {}
  async leave() {}
  async startEgress(): Promise<never> {
    throw egressDisabled();
  }
  async stopEgress(): Promise<never> {
    throw egressDisabled();
  }
  async listEgress() {
    return [];
  }
  async inspectRoom(roomId: RoomId) {
    return { roomId, nodeId: 'scripted', participants: [] };
  }
  async dump(): Promise<SfuDump> {
    return { rooms: [], transports: 0, dropped: { malformed: 0, unknownAddress: 0, unknownUsername: 0 } };
  }
  async *events(_roomId: RoomId, signal: AbortSignal): AsyncIterable<SfuEvent> {
    const queue: SfuEvent[] = [];
    let wake: (() => void) | null = null;
    const listener = (e: SfuEvent) => {
      queue.push(e);
      wake?.();
    };
    if (this.eventsFailWith) throw this.eventsFailWith;
    this.#listeners.add(listener);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        const e = queue.shift();
        if (e) yield e;
        else await new Promise<void>((r) => (wake = r));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#listeners.delete(listener);
    }
  }
}

if (process.env.BBMEET_GRPC_CHILD === '1') {
  // The child: serve a ScriptedSfu, say the port, emit an event every 100 ms, wait to be killed.
  const sfu = new ScriptedSfu();
  const server = await startSfuGrpcServer(sfu, { host: '127.0.0.1', port: 0 });
  setInterval(() => sfu.emit({ type: 'activeSpeakers', speakers: [] }), 100);
  process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
} else {
  describe('SfuGrpcClient failures', { timeout: 60_000 }, () => {
    const children: ChildProcess[] = [];
    after(() => {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    it('a node nobody listens on: unary calls and events() reject with unavailable', async () => {
      const client = new SfuGrpcClient(`127.0.0.1:${await closedPort()}`, { deadlineMs: 3_000 });
      try {
        await rejectsWith(client.ping(), 'unavailable');
        await rejectsWith(client.dump(), 'unavailable');
        await rejectsWith(client.leave({ roomId, participantId: alice }), 'unavailable');
        await rejectsWith(drain(client.events(roomId, new AbortController().signal)), 'unavailable');
      } finally {
        client.close();
      }
    });

    it('a node process killed mid-stream: the live events() iteration throws unavailable, then unary calls do', async () => {
      const child = spawn(process.execPath, [new URL(import.meta.url).pathname], {
        env: { ...process.env, BBMEET_GRPC_CHILD: '1' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      const { port } = JSON.parse(line.toString()) as { port: number };
      const client = new SfuGrpcClient(`127.0.0.1:${port}`, { deadlineMs: 3_000 });
      try {
        assert.equal(typeof (await client.ping()).nodeTimeMs, 'number');
        let received = 0;
        let killedAt = 0;
        const iteration = (async () => {
          for await (const event of client.events(roomId, new AbortController().signal)) {
            assert.equal(event.type, 'activeSpeakers');
            received++;
            if (received === 3) {
              killedAt = performance.now();
              child.kill('SIGKILL');
            }
          }
        })();
        await rejectsWith(iteration, 'unavailable');
        const detectedMs = performance.now() - killedAt;
        assert.equal(received >= 3, true);
        console.log(`events() threw ${detectedMs.toFixed(1)} ms after the node was killed`);
        await rejectsWith(client.join(joinRequest()), 'unavailable');
      } finally {
        client.close();
      }
    });

    it('a server that closes ends live event streams with unavailable; an aborted stream ends quietly', async () => {
      const sfu = new ScriptedSfu();
      const server = await startSfuGrpcServer(sfu, { host: '127.0.0.1', port: 0 });
      const client = new SfuGrpcClient(`127.0.0.1:${server.port}`);
      try {
        const quiet = new AbortController();
        const seen: SfuEvent[] = [];
        const quietIteration = (async () => {
          for await (const e of client.events(roomId, quiet.signal)) seen.push(e);
        })();
        const live = drain(client.events(roomId, new AbortController().signal));
        live.catch(() => undefined); // judged below, once the server closed
        await until(() => sfu.listeners === 2);
        sfu.emit({ type: 'participantLost', participantId: alice, reason: 'consent_timeout' });
        await until(() => seen.length === 1);
        quiet.abort();
        await quietIteration;
        assert.deepEqual(seen, [
          { type: 'participantLost', participantId: alice, reason: 'consent_timeout' },
        ]);
        await until(() => sfu.listeners === 1);
        await server.close();
        await rejectsWith(live, 'unavailable');
        assert.equal(sfu.listeners, 0);
      } finally {
        client.close();
        await server.close();
      }
    });

    it('closing the client ends a live events() iteration with unavailable; a slow consumer loses no event', async () => {
      const sfu = new ScriptedSfu();
      const server = await startSfuGrpcServer(sfu, { host: '127.0.0.1', port: 0 });
      const client = new SfuGrpcClient(`127.0.0.1:${server.port}`);
      try {
        const levels: number[] = [];
        const slow = (async () => {
          for await (const e of client.events(roomId, new AbortController().signal)) {
            if (e.type !== 'activeSpeakers') continue;
            levels.push(e.speakers[0]!.level);
            if (levels.length % 50 === 0) await new Promise((r) => setTimeout(r, 20));
          }
        })();
        slow.catch(() => undefined); // judged below, once the client closed
        await until(() => sfu.listeners === 1);
        const sent = Array.from({ length: 1000 }, (_, i) => i / 1000);
        for (const level of sent)
          sfu.emit({ type: 'activeSpeakers', speakers: [{ participantId: alice, level }] });
        await until(() => levels.length === sent.length);
        assert.deepEqual(levels, sent);
        client.close();
        await rejectsWith(slow, 'unavailable');
        await rejectsWith(client.dump(), 'unavailable');
        await until(() => sfu.listeners === 0);
      } finally {
        client.close();
        await server.close();
      }
    });

    it('a node that does not answer within the deadline: unavailable; its own errors (calls and event streams) keep their code', async () => {
      const sfu = new ScriptedSfu();
      const server = await startSfuGrpcServer(sfu, { host: '127.0.0.1', port: 0, shutdownGraceMs: 100 });
      const client = new SfuGrpcClient(`127.0.0.1:${server.port}`, { deadlineMs: 300 });
      try {
        sfu.stallJoin = true;
        const err = await rejectsWith(client.join(joinRequest()), 'unavailable');
        assert.match(err.message, /no answer within 300 ms/);
        sfu.stallJoin = false;
        sfu.failWith = new SfuError('resource_exhausted', 'room is full');
        const full = await rejectsWith(client.join(joinRequest()), 'resource_exhausted');
        assert.equal(full.message, 'room is full');
        sfu.failWith = new RangeError('a bug');
        await rejectsWith(client.join(joinRequest()), 'internal');
        sfu.failWith = null;
        assert.equal((await client.join(joinRequest())).sdp, 'v=0\r\n');
        sfu.eventsFailWith = new SfuError('permission_denied', 'not your room');
        await rejectsWith(drain(client.events(roomId, new AbortController().signal)), 'permission_denied');
        sfu.eventsFailWith = new TypeError('a bug');
        await rejectsWith(drain(client.events(roomId, new AbortController().signal)), 'internal');
      } finally {
        client.close();
        await server.close();
      }
      await rejectsWith(client.ping(), 'unavailable');
    });

    it('bad input is refused with INVALID_ARGUMENT naming the field, and the server keeps serving', async () => {
      const sfu = new ScriptedSfu();
      const server = await startSfuGrpcServer(sfu, { host: '127.0.0.1', port: 0 });
      const client = new SfuGrpcClient(`127.0.0.1:${server.port}`);
      const raw = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
      try {
        const badId = await rejectsWith(
          client.join({ ...joinRequest(), roomId: RoomId('1; DROP') }),
          'invalid_argument',
        );
        assert.match(badId.message, /room_id/);
        const noSdp = await rejectsWith(client.join({ ...joinRequest(), sdp: '' }), 'invalid_argument');
        assert.match(noSdp.message, /sdp is required/);
        const noTarget = await rejectsWith(
          client.subscribe({ roomId, participantId: alice, targetId: ParticipantId('') }),
          'invalid_argument',
        );
        assert.match(noTarget.message, /target_id/);
        await rejectsWith(drain(client.events(RoomId(''), new AbortController().signal)), 'invalid_argument');

        // Bytes that are no protobuf message at all (a truncated varint), sent by a raw client.
        const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff]);
        const answer = await new Promise<{ code: number; details: string }>((resolve) => {
          raw.makeUnaryRequest(
            '/bbmeet.sfu.v1.SfuService/Join',
            (b: Buffer) => b,
            (b: Buffer) => b,
            garbage,
            new Metadata(),
            {},
            (err) => resolve({ code: err?.code ?? status.OK, details: err?.details ?? '' }),
          );
        });
        assert.equal(answer.code, status.INVALID_ARGUMENT);
        assert.match(answer.details, /not a valid protobuf message/);
        assert.equal(typeof (await client.ping()).nodeTimeMs, 'number');
      } finally {
        raw.close();
        client.close();
        await server.close();
      }
    });
  });
}

function joinRequest() {
  return {
    roomId,
    participantId: alice,
    sdp: 'v=0\r\n',
    totalTracks: 1,
    mediaState: defaultMediaState(),
    isMigrate: false,
  };
}

async function drain(events: AsyncIterable<SfuEvent>): Promise<void> {
  for await (const _ of events) {
    // consumed
  }
}

async function rejectsWith(promise: Promise<unknown>, code: SfuErrorCode): Promise<SfuError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    assert.ok(err instanceof SfuError, `expected an SfuError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
  return caught as SfuError;
}

/** A TCP port with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
