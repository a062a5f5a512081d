import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ParticipantId, RoomId } from '../../src/lib/ids.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { defaultMediaState, type SfuEvent } from '../../src/protocol/sfu-api.ts';
import { createSfu, type StartedSfu } from '../../src/sfu/create-sfu.ts';
import { ScriptedPublisher, VIDEO_SSRCS } from '../fakes/scripted-publisher.ts';
import {
  type CountingEgressBackend,
  countingEgress,
  TEST_EGRESS_SETTINGS,
} from '../support/counting-egress.ts';
import { freeUdpPort } from '../support/server.ts';

const WAIT_MS = 15_000;

/** Polls `check` every 20 ms (for state seen only through dump() or the source). */
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The SFU side of egress with real media workers: a scripted publisher sends Opus and 3-layer VP8
 * simulcast over ICE/DTLS/SRTP, and a counting egress backend taps it through createSfu's
 * `egress` option.
 */
describe('egress taps on real media workers', { timeout: 120_000 }, () => {
  let started: StartedSfu;
  const backends: CountingEgressBackend[] = [];
  const publishers: ScriptedPublisher[] = [];
  let nextRoom = 1;

  before(async () => {
    const port = await freeUdpPort();
    started = await createSfu({
      workers: 1,
      portMin: port,
      portMax: port,
      publicIp: '127.0.0.1',
      nodeId: 'egress-node',
      logLevel: 'silent',
      logger: silentLogger(),
      egress: countingEgress(backends),
      egressSettings: TEST_EGRESS_SETTINGS,
    });
  });
  after(async () => {
    for (const p of publishers) p.close();
    await started?.stop();
  });

  /** A room with a publisher sending media, ready (publisherReady seen by the egress source). */
  async function publishing(): Promise<{
    roomId: RoomId;
    alice: ParticipantId;
    publisher: ScriptedPublisher;
  }> {
    const roomId = RoomId(`egress-${nextRoom++}`);
    const alice = ParticipantId('alice');
    const publisher = await ScriptedPublisher.create();
    publishers.push(publisher);
    const res = await started.sfu.join({
      roomId,
      participantId: alice,
      sdp: publisher.offer,
      totalTracks: 2,
      mediaState: defaultMediaState(),
      isMigrate: false,
    });
    await publisher.connect(res.sdp);
    publisher.start();
    await until(() => backends[0]!.source.publishers(roomId).includes(alice), 'publisherReady');
    return { roomId, alice, publisher };
  }

  it('a tap counts each track’s packets per layer, gets a keyframe it asks for, follows one layer when told, and hears gone when the publisher leaves', async () => {
    const { roomId, alice, publisher } = await publishing();
    const controller = new AbortController();
    const events: SfuEvent[] = [];
    const pump = (async () => {
      for await (const event of started.sfu.events(roomId, controller.signal)) events.push(event);
    })();
    const info = await started.sfu.startEgress({
      roomId,
      kind: 'recording',
      participantId: alice,
      requestedBy: 'test',
    });
    const tap = backends[0]!.taps.get(info.egressId)!;
    assert.deepEqual([...tap.tracks.values()].map((t) => t.track.kind).sort(), ['audio', 'video']);
    assert.equal((await started.sfu.dump()).rooms.find((r) => r.roomId === roomId)?.taps, 1);

    const video = tap.video();
    await tap.until(
      () => tap.audio().packets >= 10 && [0, 1, 2].every((l) => (video.byLayer[l] ?? 0) >= 5),
      'audio and all three layers',
    );

    const keyframesBefore = video.keyframesByLayer[2] ?? 0;
    tap.feedback({ t: 'keyframe', relayId: video.track.relayId, ssrc: 0 });
    await tap.until(() => (video.keyframesByLayer[2] ?? 0) > keyframesBefore, 'a keyframe of the best layer');
    assert.ok(publisher.plis.includes(VIDEO_SSRCS[2]), 'the publisher was asked for it (PLI)');

    const lowKeyframes = video.keyframesByLayer[0] ?? 0;
    tap.feedback({ t: 'layer', relayId: video.track.relayId, layer: 0 });
    // The worker asks for a keyframe of the layer it switched to: from that one on, only layer 0.
    await tap.until(() => (video.keyframesByLayer[0] ?? 0) > lowKeyframes, 'a keyframe of layer 0');
    const upper = (video.byLayer[1] ?? 0) + (video.byLayer[2] ?? 0);
    const low = video.byLayer[0] ?? 0;
    await tap.until(() => (video.byLayer[0] ?? 0) >= low + 20, '20 more packets of layer 0');
    assert.equal(
      (video.byLayer[1] ?? 0) + (video.byLayer[2] ?? 0),
      upper,
      'nothing of layers 1 and 2 any more',
    );

    await started.sfu.leave({ roomId, participantId: alice });
    await tap.closed;
    assert.equal(tap.messages.at(-1)?.t, 'gone');
    const dump = await started.sfu.dump();
    assert.equal(
      dump.rooms.find((r) => r.roomId === roomId),
      undefined,
      'no room, so no tap, is left',
    );
    assert.deepEqual(dump.egress ?? [], [], 'the egress ended with its publisher');
    controller.abort();
    await pump;
    const updates = events.flatMap((e) => (e.type === 'egressUpdated' ? [e.egress] : []));
    assert.deepEqual(
      updates.map((u) => [u.egressId, u.state, u.reason]),
      [
        [info.egressId, 'active', null],
        [info.egressId, 'ended', 'participant_left'],
      ],
    );
  });

  it('stopping the egress closes its port: the worker detaches the tap while the publisher stays', async () => {
    const { roomId, alice } = await publishing();
    const info = await started.sfu.startEgress({
      roomId,
      kind: 'hls',
      participantId: alice,
      requestedBy: 'test',
    });
    const tap = backends[0]!.taps.get(info.egressId)!;
    await tap.until(() => tap.video().packets > 0, 'video packets');
    assert.deepEqual(
      (await started.sfu.listEgress(roomId)).map((e) => [e.egressId, e.state]),
      [[info.egressId, 'active']],
    );
    const stopped = await started.sfu.stopEgress({ roomId, egressId: info.egressId });
    assert.equal(stopped.state, 'ended');
    assert.equal(stopped.reason, 'stopped');
    await until(
      async () => (await started.sfu.dump()).rooms.find((r) => r.roomId === roomId)?.taps === 0,
      'the tap detached',
    );
    const room = (await started.sfu.dump()).rooms.find((r) => r.roomId === roomId)!;
    assert.equal(room.publishers, 1, 'the publisher goes on');
    assert.equal(room.downTracks, 0, 'taps are not down tracks');
    await started.sfu.leave({ roomId, participantId: alice });
  });

  it('a tap on someone who publishes nothing fails with not_found and leaves nothing behind', async () => {
    const roomId = RoomId(`egress-${nextRoom++}`);
    await assert.rejects(
      started.sfu.startEgress({
        roomId,
        kind: 'hls',
        participantId: ParticipantId('nobody'),
        requestedBy: 'test',
      }),
      (err: { code?: string }) => err.code === 'not_found',
    );
    assert.equal((await started.sfu.dump()).rooms.length, 0);
  });

  it('the worker hosting the publisher dies: the tap’s port closes, the egress ends, nothing is left once the worker is back', async () => {
    const { roomId, alice } = await publishing();
    const info = await started.sfu.startEgress({
      roomId,
      kind: 'hls',
      participantId: alice,
      requestedBy: 'test',
    });
    const tap = backends[0]!.taps.get(info.egressId)!;
    await tap.until(() => tap.video().packets > 0, 'video packets');
    await started.pool.terminateWorker(started.pool.homeOf(roomId, alice) ?? 0);
    await tap.closed;
    assert.equal(
      tap.messages.some((m) => m.t === 'gone'),
      false,
      'a dead worker says nothing: the close is the news',
    );
    assert.equal((await started.sfu.listEgress(roomId))[0]?.state, 'ended');
    assert.deepEqual(backends[0]!.source.publishers(roomId), [], 'the lost publisher is no longer ready');
    const dump = await started.sfu.dump();
    assert.equal(
      dump.rooms.find((r) => r.roomId === roomId),
      undefined,
    );
    assert.deepEqual(dump.egress ?? [], []);
  });

  it('stopping the SFU closes the egress backend before the workers', async () => {
    const port = await freeUdpPort();
    const own: CountingEgressBackend[] = [];
    const sfu = await createSfu({
      workers: 1,
      portMin: port,
      portMax: port,
      publicIp: '127.0.0.1',
      nodeId: 'egress-node-2',
      logLevel: 'silent',
      logger: silentLogger(),
      egress: countingEgress(own),
      egressSettings: TEST_EGRESS_SETTINGS,
    });
    assert.ok(sfu.egressHttp, 'the backend’s HTTP side is handed to the role');
    await sfu.stop();
    assert.equal(own[0]!.closed, true);
    await assert.rejects(
      sfu.sfu.startEgress({ roomId: RoomId('x'), kind: 'hls', participantId: null, requestedBy: 'test' }),
      (err: { code?: string }) => err.code === 'unsupported',
    );
  });
});
