import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { bbmeet, joinWithoutMedia, publishMedia } from '../cli/admin-cli-support.ts';
import { ScriptedPublisher } from '../fakes/scripted-publisher.ts';
import { connectSocket, login, nextEvent, restClient, roomWithParticipants } from '../support/clients.ts';
import { startCluster, type TestCluster } from './cluster.ts';

/**
 * The admin CLI against a cluster (2 signalling + 2 SFU processes, real Redis and PostgreSQL):
 * the listing names the SFU node hosting the room, also from the instance that routes nobody of
 * it, and mute, remove and end reach participants held by either signalling instance.
 */

const SECRET = 'admin-cluster-secret-0123456789abcdefgh';

// biome-ignore lint/suspicious/noExplicitAny: JSON replies are checked key by key.
type Json = any;

describe('cluster: bbmeet admin commands through either signalling instance', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let publisher: ScriptedPublisher;
  const sockets: Socket[] = [];
  let one: string;
  let two: string;
  const run = (url: string, ...args: string[]) =>
    bbmeet([...args, '--url', url], { AUTH_IDENTITY_SECRET: SECRET });
  const json = async (url: string, ...args: string[]): Promise<Json> => {
    const r = await run(url, ...args, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    cluster = await startCluster({
      sfuCount: 2,
      signallingCount: 2,
      env: { AUTH_IDENTITY_SECRET: SECRET, PUBLIC_IP: '127.0.0.1' },
    });
    one = cluster.signallings[0]!.url;
    two = cluster.signallings[1]!.url;
  });

  after(async () => {
    publisher?.close();
    for (const s of sockets) s.close();
    await cluster?.stop();
  });

  it('lists the room’s node from both instances; mute, remove and end cross instances', async () => {
    const call = restClient(one);
    const users = [
      await login(call, 'ada-c', 'Ada'),
      await login(call, 'bob-c', 'Bob'),
      await login(call, 'cy-c', 'Cy'),
    ];
    const { roomId, code, pids } = await roomWithParticipants(call, users, 'Cluster standup');
    const [adaPid, bobPid, cyPid] = pids as [string, string, string];
    const ada = await connectSocket(one, users[0]!.token);
    const bob = await connectSocket(two, users[1]!.token);
    const cy = await connectSocket(one, users[2]!.token);
    sockets.push(ada, bob, cy);
    await joinWithoutMedia(bob, roomId, bobPid);
    await joinWithoutMedia(cy, roomId, cyPid);
    publisher = await ScriptedPublisher.create();
    await publishMedia(ada, publisher, { roomId, participantId: adaPid }, bob);

    const nodes = cluster.sfus.map((s) => s.nodeId);
    const listed = (await json(two, 'rooms')).rooms.find((r: Json) => String(r.id) === roomId);
    assert.ok(nodes.includes(listed?.nodeId), `a node of the cluster: ${listed?.nodeId}`);
    assert.equal(listed.participants, 3);
    // Instance two routes nobody of the room to an SFU: it finds the node in the directory.
    const seen = await json(two, 'participants', code);
    assert.equal(seen.nodeId, listed.nodeId);
    const adaSeen = seen.participants.find((p: Json) => p.id === adaPid);
    assert.deepEqual(adaSeen.tracks.map((t: Json) => t.kind).sort(), ['audio', 'video']);

    const muted = nextEvent(ada, 'room.audio_enabled', 10_000);
    const mutedSeenByBob = nextEvent(bob, 'room.audio_enabled', 10_000);
    assert.equal((await run(two, 'mute', roomId, adaPid, '--audio')).code, 0);
    assert.deepEqual(await muted, { participantId: adaPid, isEnabled: false });
    assert.deepEqual(await mutedSeenByBob, { participantId: adaPid, isEnabled: false });
    const afterMute = await json(one, 'participants', roomId);
    const audio = afterMute.participants
      .find((p: Json) => p.id === adaPid)
      .tracks.find((t: Json) => t.kind === 'audio');
    assert.equal(audio.muted, true);

    const removed = nextEvent<{ event: string }>(bob, 'system.error', 10_000);
    const bobLeft = nextEvent(ada, 'room.participant_left', 10_000);
    assert.equal((await run(one, 'remove-participant', roomId, bobPid)).code, 0);
    assert.equal((await removed).event, 'room.removed');
    assert.deepEqual(await bobLeft, { targetId: bobPid });

    const told = [ada, cy].map((s) => nextEvent<{ event: string }>(s, 'system.error', 10_000));
    const ended = await run(two, 'end-room', code);
    assert.equal(ended.code, 0, ended.stderr);
    for (const t of told) assert.equal((await t).event, 'room.removed');
    const empty = await json(one, 'participants', roomId);
    assert.deepEqual(empty.participants, []);
    assert.equal(
      (await json(one, 'rooms')).rooms.some((r: Json) => String(r.id) === roomId),
      false,
    );
  });
});
