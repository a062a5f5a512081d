import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import type { WebhookEvent } from '../../src/protocol/webhook-events.ts';
import { verifyWebhook } from '../../src/webhooks/index.ts';
import { ScriptedPublisher } from '../fakes/scripted-publisher.ts';
import { connectSocket, login, nextEvent, restClient, roomWithParticipants } from '../support/clients.ts';
import { API_KEY, startTestServer, type TestServer } from '../support/server.ts';

interface Delivery {
  body: string;
  event: WebhookEvent;
  signature: string | undefined;
}

/** An HTTP receiver on 127.0.0.1: records every request; `respond` answers it (or holds it). */
async function receiver(respond: (res: ServerResponse, delivery: Delivery) => void) {
  const deliveries: Delivery[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const delivery = {
        body,
        event: JSON.parse(body) as WebhookEvent,
        signature: req.headers['x-bbmeet-signature'] as string | undefined,
      };
      deliveries.push(delivery);
      for (const wake of waiters) wake();
      respond(res, delivery);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    deliveries,
    /** Resolves once `done(deliveries)` holds (checked at each request), or fails after 20 s. */
    async until(done: (d: Delivery[]) => boolean, what: string): Promise<void> {
      if (done(deliveries)) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`timed out waiting for ${what}: got ${deliveries.map((d) => d.event.event)}`));
        }, 20_000);
        const wake = () => {
          if (!done(deliveries)) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
      });
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

type Receiver = Awaited<ReturnType<typeof receiver>>;

/** Takes the socket's participant into the room without media (a join, as after a reconnect). */
async function joinWithoutMedia(socket: Socket, roomId: string, participantId: string) {
  const ack = (await socket.timeout(10_000).emitWithAck('room.reconnect', { roomId, participantId })) as {
    restored?: boolean;
  };
  assert.equal(ack.restored, true);
}

describe('webhooks from a real server', { timeout: 120_000 }, () => {
  const cleanups: Array<() => unknown> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function server(receivers: Receiver[], media: boolean): Promise<TestServer> {
    const s = await startTestServer(
      { WEBHOOK_URLS: receivers.map((r) => r.url).join(','), PUBLIC_IP: '127.0.0.1' },
      { media },
    );
    cleanups.push(() => s.close());
    return s;
  }

  it('a whole call: every event once, in order, each signed with the API secret', async () => {
    const hooks = await receiver((res) => res.writeHead(204).end());
    cleanups.push(() => hooks.close());
    const s = await server([hooks], true);
    const call = restClient(s.baseUrl);
    const ada = await login(call, 'ada', 'Ada Lovelace');
    const bob = await login(call, 'bob', 'Bob');
    const { roomId, code, pids } = await roomWithParticipants(call, [ada, bob], 'Standup');
    const [adaPid, bobPid] = pids as [string, string];
    const adaSocket = await connectSocket(s.baseUrl, ada.token);
    const bobSocket = await connectSocket(s.baseUrl, bob.token);
    const publisher = await ScriptedPublisher.create();
    cleanups.push(() => publisher.close());

    const answered = nextEvent<{ sdp: string }>(adaSocket, 'room.publish', 10_000);
    adaSocket.emit('room.publish', {
      sdp: publisher.offer,
      roomId,
      participantId: adaPid,
      isVideoEnabled: true,
      isAudioEnabled: true,
      isE2eeEnabled: false,
      totalTracks: 2,
      connectionType: 1,
    });
    const answer = (await answered).sdp;
    await hooks.until((d) => d.length === 2, 'ada joined');
    await joinWithoutMedia(bobSocket, roomId, bobPid);
    await hooks.until((d) => d.length === 3, 'bob joined');
    await publisher.connect(answer);
    publisher.start();
    await hooks.until((d) => d.filter((x) => x.event.event === 'track_published').length === 2, 'tracks');
    await adaSocket.timeout(10_000).emitWithAck('room.leave', { roomId });
    adaSocket.close();
    bobSocket.close();
    await hooks.until((d) => d.some((x) => x.event.event === 'room_finished'), 'room_finished');

    const events = hooks.deliveries.map((d) => d.event);
    assert.deepEqual(
      events.map((e) => [e.event, 'participant' in e ? e.participant.id : null]),
      [
        ['room_started', null],
        ['participant_joined', adaPid],
        ['participant_joined', bobPid],
        ['track_published', adaPid],
        ['track_published', adaPid],
        ['track_unpublished', adaPid],
        ['track_unpublished', adaPid],
        ['participant_left', adaPid],
        ['participant_left', bobPid],
        ['room_finished', null],
      ],
    );
    for (const d of hooks.deliveries) assert.equal(verifyWebhook(API_KEY, d.signature, d.body), true, d.body);
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'unique ids');
    for (const [i, e] of events.entries()) {
      assert.deepEqual(e.room, { id: roomId, code, title: 'Standup' });
      if (i > 0) assert.ok(e.createdAt >= events[i - 1]!.createdAt, 'createdAt in order');
    }
    const joined = events[1] as Extract<WebhookEvent, { event: 'participant_joined' }>;
    assert.deepEqual(joined.participant, { id: adaPid, userId: ada.id, name: 'Ada Lovelace', hidden: false });
    const tracks = events
      .slice(3, 5)
      .map((e) => (e as Extract<WebhookEvent, { track: unknown }>).track)
      .sort((a, b) => a.mid.localeCompare(b.mid));
    assert.deepEqual(
      tracks.map((t) => [t.kind, t.source, t.mid, t.codec]),
      [
        ['audio', 'microphone', '0', 'audio/opus'],
        ['video', 'camera', '1', 'video/VP8'],
      ],
    );
    assert.ok(tracks.every((t) => typeof t.trackId === 'string' && t.trackId.length > 0));
    const reasons = events.slice(7, 9).map((e) => (e as { reason?: string }).reason);
    assert.deepEqual(reasons, ['left', 'disconnected']);
  });

  it('a receiver answering 500 gets retries (counted), one that never answers delays no join; the call goes on', async () => {
    const failing = await receiver((res) => res.writeHead(500).end());
    const held: ServerResponse[] = [];
    const silent = await receiver((res) => held.push(res));
    cleanups.push(
      () => failing.close(),
      () => silent.close(),
    );
    const s = await server([failing, silent], false);
    const call = restClient(s.baseUrl);
    const users = [await login(call, 'cy'), await login(call, 'di')];
    const { roomId, pids } = await roomWithParticipants(call, users, 'Retries');
    const sockets = await Promise.all(users.map((u) => connectSocket(s.baseUrl, u.token)));
    cleanups.push(() => {
      for (const socket of sockets) socket.close();
    });

    await joinWithoutMedia(sockets[0]!, roomId, pids[0]!);
    await silent.until((d) => d.length === 1, 'the first request to the silent receiver');
    // The silent receiver holds room_started: the room's next events wait in its queue, not the join.
    await joinWithoutMedia(sockets[1]!, roomId, pids[1]!);
    const left = nextEvent<{ targetId: string }>(sockets[1]!, 'room.participant_left', 10_000);
    await sockets[0]!.timeout(10_000).emitWithAck('room.leave', { roomId });
    assert.deepEqual(await left, { targetId: pids[0] });
    assert.equal(silent.deliveries.length, 1, 'still the one unanswered request');
    assert.equal(held.length, 1);

    await failing.until((d) => d.length >= 3, 'retries');
    const first = failing.deliveries[0]!.event;
    assert.equal(first.event, 'room_started');
    assert.deepEqual(
      failing.deliveries.slice(0, 3).map((d) => d.event.id),
      [first.id, first.id, first.id],
      'the same event is retried, with its id',
    );
    const metrics = await (await fetch(`${s.baseUrl}/metrics`)).text();
    const retried = /bbmeet_webhook_retried_total\{endpoint="0-127\.0\.0\.1:\d+"\} (\d+)/.exec(metrics);
    assert.ok(Number(retried?.[1]) >= 2, `retries counted: ${retried?.[0]}`);
    assert.match(metrics, /bbmeet_webhook_queue_length\{endpoint="1-127\.0\.0\.1:\d+"\} [1-9]/);
    for (const res of held) res.writeHead(204).end();
  });
  it('shutdown: the leaves of the closed sockets are sent before close() resolves', async () => {
    const hooks = await receiver((res) => res.writeHead(204).end());
    cleanups.push(() => hooks.close());
    const s = await startTestServer({ WEBHOOK_URLS: hooks.url });
    let closed = false;
    cleanups.push(() => closed || s.close());
    const call = restClient(s.baseUrl);
    const eve = await login(call, 'eve');
    const { roomId, pids } = await roomWithParticipants(call, [eve], 'Shutdown');
    const socket = await connectSocket(s.baseUrl, eve.token);
    cleanups.push(() => socket.close());
    await joinWithoutMedia(socket, roomId, pids[0]!);
    await s.close();
    closed = true;
    assert.deepEqual(
      hooks.deliveries.map((d) => d.event.event),
      ['room_started', 'participant_joined', 'participant_left', 'room_finished'],
    );
  });
});
