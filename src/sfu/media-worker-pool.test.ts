import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import { silentLogger } from '../lib/logger.ts';
import type { SfuEvent } from '../protocol/sfu-api.ts';
import { defaultMediaState } from '../protocol/sfu-api.ts';
import { MediaWorkerPool, runningMediaWorkerPools } from './media-worker-pool.ts';
import { mergeActiveSpeakers } from './merge-worker-reports.ts';
import { choosePlacement, type WorkerLoad } from './room-placement.ts';
import { Sfu } from './sfu.ts';

const WORKER = new URL('../../test/fakes/recording-worker.ts', import.meta.url);

/** Resolves once `done` holds, polling every 10 ms; gives up after 10 s (the assertions after it fail then). */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

function join(roomId: string, participantId: string, sdp = 'offer') {
  return {
    roomId: RoomId(roomId),
    participantId: ParticipantId(participantId),
    sdp,
    totalTracks: 2,
    mediaState: defaultMediaState(),
    isMigrate: false,
  };
}

describe('MediaWorkerPool + Sfu', () => {
  let pool: MediaWorkerPool;
  let sfu: Sfu;
  const events: Array<{ roomId: string; event: SfuEvent }> = [];

  before(async () => {
    let dispatch: (roomId: RoomId, event: SfuEvent) => void = () => undefined;
    pool = new MediaWorkerPool({
      workerUrl: WORKER,
      ports: [41000, 41001],
      announcedIps: ['127.0.0.1'],
      nodeId: 'node-test',
      logLevel: 'silent',
      logger: silentLogger(),
      requestTimeoutMs: 1000,
      onEvent: (roomId, event) => {
        events.push({ roomId, event });
        dispatch(roomId, event);
      },
    });
    sfu = new Sfu(pool);
    dispatch = sfu.dispatchEvent;
    await pool.start();
  });
  after(async () => {
    await pool.stop();
  });

  it('pins each room to one worker and spreads new rooms over the least loaded', async () => {
    const a1 = await sfu.join(join('1', '10'));
    const a2 = await sfu.join(join('1', '11'));
    const b1 = await sfu.join(join('2', '20'));
    assert.equal(a1.sdp, a2.sdp, 'same room, same worker');
    assert.notEqual(a1.sdp, b1.sdp, 'a new room goes to the idle worker');
    const placement = pool.placement();
    assert.deepEqual(placement.map((p) => p.participants).sort(), [1, 2]);
  });

  it('room events reach the listeners of that room only', async () => {
    const controller = new AbortController();
    const seen: SfuEvent[] = [];
    const done = (async () => {
      for await (const event of sfu.events(RoomId('3'), controller.signal)) seen.push(event);
    })();
    await sfu.join(join('3', '30'));
    await sfu.join(join('1', '12'));
    // Room 3's event (bounded wait: a worker thread on a loaded machine), then 50 ms more in which
    // room 1's must not come.
    await until(() => seen.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    await done;
    assert.deepEqual(seen, [
      { type: 'publisherReady', participantId: '30', nodeId: 'node-test', isMigrate: false },
    ]);
  });

  it('errors of an operation come back as SfuError with their code', async () => {
    await assert.rejects(
      sfu.join(join('1', '13', 'bad')),
      (e: Error & { code?: string }) => e.code === 'invalid_argument' && /bad sdp/.test(e.message),
    );
  });

  it('a worker that does not answer times out with unavailable', async () => {
    await assert.rejects(
      sfu.join(join('1', '14', 'hang')),
      (e: Error & { code?: string }) => e.code === 'unavailable',
    );
  });

  it('a crashed worker is restarted; only its rooms lose their participants', async () => {
    const before = pool.placement();
    const crashedSlot = before.find((p) => p.rooms.includes(RoomId('2')))!;
    events.length = 0;
    await assert.rejects(
      sfu.join(join('2', '21', 'crash')),
      (e: Error & { code?: string }) => e.code === 'unavailable',
    );
    const expected = [
      ['2', '20'],
      ['3', '30'],
    ].filter(([roomId]) => crashedSlot.rooms.includes(RoomId(roomId!)));
    // The losses are told and the worker restarted once the pool saw the thread exit (bounded).
    await until(
      () =>
        events.filter((e) => e.event.type === 'participantLost').length >= expected.length &&
        pool.placement()[crashedSlot.index]!.restarts === 1,
    );
    // 300 ms more: a loss told twice or of another room's participant would show.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const lost = events.filter((e) => e.event.type === 'participantLost');
    assert.deepEqual(
      lost.map((e) => [e.roomId, 'participantId' in e.event ? e.event.participantId : '']),
      expected,
      'every participant of the rooms on that worker, and nobody else',
    );
    const after = pool.placement();
    assert.equal(after[crashedSlot.index]!.restarts, 1);
    assert.equal(
      after.reduce((n, p) => n + p.restarts, 0),
      1,
      'the other worker kept running',
    );
    // The other room still works, and room 2 can be used again on the restarted worker.
    await sfu.join(join('1', '15'));
    await sfu.join(join('2', '22'));
    const dump = await sfu.dump();
    assert.ok(dump.rooms.some((r) => r.roomId === '2' && r.participants.includes(ParticipantId('22'))));
  });

  it('mediaReports(): a worker counters keep their totals across its restart', async () => {
    await sfu.join(join('9', '90'));
    const index = pool.homeOf(RoomId('9'), ParticipantId('90'))!;
    const forwarded = () => pool.mediaReports()[index]!.report.counters.forwardedPackets;
    // The worker reports once a second: wait (bounded) for a report made after the join.
    for (let i = 0; i < 50 && forwarded() === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const before = pool.mediaReports()[index]!;
    assert.ok(before.report.counters.forwardedPackets >= 1, 'the join was counted');
    assert.ok(before.report.gauges.cpuSeconds > 0, 'the worker thread CPU time is reported');
    await pool.terminateWorker(index);
    const after = pool.mediaReports()[index]!;
    assert.equal(after.restarts, before.restarts + 1);
    assert.equal(after.worker, index);
    assert.ok(after.report.counters.forwardedPackets >= before.report.counters.forwardedPackets);
    assert.ok(after.report.gauges.cpuSeconds >= before.report.gauges.cpuSeconds);
  });

  it('terminateWorker() ends a worker as a crash would: restarted, only its rooms lose their participants', async () => {
    assert.ok(runningMediaWorkerPools().includes(pool), 'a started pool is reachable for fault injection');
    await sfu.join(join('4', '40'));
    const slot = pool.placement().find((p) => p.rooms.includes(RoomId('4')))!;
    const others = pool.placement().filter((p) => p.index !== slot.index);
    const lostExpected = (await sfu.dump()).rooms
      .filter((r) => slot.rooms.includes(r.roomId))
      .flatMap((r) => r.participants.map((id) => [r.roomId, id]))
      .sort();
    events.length = 0;
    await pool.terminateWorker(slot.index);
    const lost = events
      .filter((e) => e.event.type === 'participantLost')
      .map((e) => [e.roomId, 'participantId' in e.event ? e.event.participantId : ''])
      .sort();
    assert.deepEqual(lost, lostExpected, 'reported by the time terminateWorker() resolves');
    assert.ok(
      events.every((e) => e.event.type !== 'participantLost' || e.event.reason === 'worker_restarted'),
    );
    const after = pool.placement();
    assert.equal(after[slot.index]!.restarts, slot.restarts + 1);
    assert.deepEqual(after[slot.index]!.rooms, [], 'its rooms are no longer pinned to it');
    for (const other of others) assert.equal(after[other.index]!.restarts, other.restarts);
    await sfu.join(join('4', '41'));
    assert.ok(
      (await sfu.dump()).rooms.some((r) => r.roomId === '4' && r.participants.includes(ParticipantId('41'))),
    );
    await assert.rejects(pool.terminateWorker(7), RangeError);
  });

  it('leave() removes the participant; dump() shows the rooms emptied', async () => {
    const dump = await sfu.dump();
    for (const room of dump.rooms) {
      for (const participantId of room.participants) await sfu.leave({ roomId: room.roomId, participantId });
    }
    assert.deepEqual((await sfu.dump()).rooms, []);
  });
});

describe('runningMediaWorkerPools()', () => {
  it('lists a pool from start() until stop()', async () => {
    const pool = new MediaWorkerPool({
      workerUrl: WORKER,
      ports: [41010],
      announcedIps: ['127.0.0.1'],
      nodeId: 'node-test',
      logLevel: 'silent',
      logger: silentLogger(),
      onEvent: () => undefined,
    });
    assert.ok(!runningMediaWorkerPools().includes(pool));
    await pool.start();
    assert.ok(runningMediaWorkerPools().includes(pool));
    await pool.stop();
    assert.ok(!runningMediaWorkerPools().includes(pool));
  });
});

describe('choosePlacement()', () => {
  const w = (index: number, participants: number, rooms: number, inRoom: number, up = true): WorkerLoad => ({
    index,
    participants,
    rooms,
    inRoom,
    up,
  });

  it('a new room goes to the least-loaded worker: fewest participants, then fewest rooms, then lowest index', () => {
    assert.equal(choosePlacement([w(0, 5, 1, 0), w(1, 2, 3, 0), w(2, 4, 0, 0)], 50), 1);
    assert.equal(choosePlacement([w(0, 2, 2, 0), w(1, 2, 1, 0)], 50), 1);
    assert.equal(choosePlacement([w(0, 0, 0, 0), w(1, 0, 0, 0)], 50), 0);
  });

  it('a room stays on its workers while one holds fewer than the cap, even when another is idle', () => {
    assert.equal(choosePlacement([w(0, 30, 3, 10), w(1, 0, 0, 0)], 50), 0);
    // Of the room's workers with room left, the least loaded.
    assert.equal(choosePlacement([w(0, 30, 3, 10), w(1, 20, 2, 5), w(2, 0, 0, 0)], 50), 1);
    assert.equal(choosePlacement([w(0, 30, 3, 50), w(1, 20, 2, 5), w(2, 0, 0, 0)], 50), 1);
  });

  it('a room whose workers are full spans the least-loaded other worker', () => {
    assert.equal(choosePlacement([w(0, 2, 1, 2), w(1, 9, 4, 0), w(2, 3, 1, 0)], 2), 2);
    assert.equal(choosePlacement([w(0, 1, 1, 1), w(1, 0, 0, 0)], 1), 1);
  });

  it('when every worker holds the cap, the least loaded overall takes the participant', () => {
    assert.equal(choosePlacement([w(0, 4, 1, 2), w(1, 3, 1, 2)], 2), 1);
  });

  it('a restarting worker gets nobody while another is up', () => {
    assert.equal(choosePlacement([w(0, 0, 0, 0, false), w(1, 7, 2, 0)], 50), 1);
    assert.equal(choosePlacement([w(0, 1, 1, 1, false), w(1, 7, 2, 0)], 50), 1);
    assert.throws(() => choosePlacement([], 50), RangeError);
  });
});

describe('mergeActiveSpeakers()', () => {
  const s = (id: string, level: number) => ({ participantId: ParticipantId(id), level });

  it('merges the workers’ lists of one room, loudest first; one list passes as it is', () => {
    assert.deepEqual(mergeActiveSpeakers(new Map([[0, [s('a', 0.2)]]])), [s('a', 0.2)]);
    assert.deepEqual(
      mergeActiveSpeakers(
        new Map([
          [0, [s('a', 0.2), s('b', 0.05)]],
          [1, [s('c', 0.5)]],
        ]),
      ),
      [s('c', 0.5), s('a', 0.2), s('b', 0.05)],
    );
    assert.deepEqual(
      mergeActiveSpeakers(
        new Map([
          [0, []],
          [1, [s('c', 0.5)]],
        ]),
      ),
      [s('c', 0.5)],
      'a worker whose speakers went quiet contributes nobody',
    );
  });
});

describe('MediaWorkerPool: a room spanning workers', () => {
  let pool: MediaWorkerPool;
  let sfu: Sfu;
  const events: Array<{ roomId: string; event: SfuEvent }> = [];

  before(async () => {
    let dispatch: (roomId: RoomId, event: SfuEvent) => void = () => undefined;
    pool = new MediaWorkerPool({
      workerUrl: WORKER,
      ports: [41020, 41021],
      announcedIps: ['127.0.0.1'],
      nodeId: 'node-test',
      logLevel: 'silent',
      logger: silentLogger(),
      requestTimeoutMs: 1000,
      roomParticipantsPerWorker: 2,
      onEvent: (roomId, event) => {
        events.push({ roomId, event });
        dispatch(roomId, event);
      },
    });
    sfu = new Sfu(pool);
    dispatch = sfu.dispatchEvent;
    await pool.start();
  });
  after(async () => {
    await pool.stop();
  });

  it('refuses a cap below 1', () => {
    assert.throws(
      () =>
        new MediaWorkerPool({
          workerUrl: WORKER,
          ports: [1],
          announcedIps: [],
          nodeId: 'n',
          logLevel: 'silent',
          logger: silentLogger(),
          roomParticipantsPerWorker: 0,
          onEvent: () => undefined,
        }),
      RangeError,
    );
  });

  it('fills a worker up to the cap, then places the room’s next participants on the other', async () => {
    const answers = [];
    for (const id of ['1', '2', '3', '4']) answers.push((await sfu.join(join('S', id))).sdp);
    assert.equal(answers[0], answers[1], 'the first two share a worker');
    assert.notEqual(answers[1], answers[2], 'the third spans the other worker');
    assert.equal(answers[2], answers[3]);
    const placement = pool.placement();
    assert.deepEqual(
      placement.map((p) => p.rooms),
      [[RoomId('S')], [RoomId('S')]],
    );
    assert.deepEqual(
      placement.map((p) => p.participants),
      [2, 2],
    );
    const home1 = pool.homeOf(RoomId('S'), ParticipantId('1'));
    const home3 = pool.homeOf(RoomId('S'), ParticipantId('3'));
    assert.notEqual(home1, home3);
    const dump = await sfu.dump();
    const room = dump.rooms.find((r) => r.roomId === 'S')!;
    assert.deepEqual([...room.participants].sort(), ['1', '2', '3', '4'], 'one entry for the spanning room');
    assert.deepEqual(room.workers, [0, 1]);
  });

  it('routes each participant’s operations to its home worker, subscribes across workers included', async () => {
    // The recording worker answers {} to anything but join; what matters is that nothing fails and
    // the subscribe to a publisher elsewhere does not re-place the subscriber.
    await sfu.subscribe({
      roomId: RoomId('S'),
      participantId: ParticipantId('3'),
      targetId: ParticipantId('1'),
    });
    assert.equal(pool.homeOf(RoomId('S'), ParticipantId('3')), pool.placement()[1]!.index);
    // A participant seen first in a subscribe is placed too (receive-only participants).
    await sfu.subscribe({
      roomId: RoomId('S'),
      participantId: ParticipantId('5'),
      targetId: ParticipantId('1'),
    });
    assert.notEqual(pool.homeOf(RoomId('S'), ParticipantId('5')), undefined);
  });

  it('a crash of one worker reports only the participants homed on it; the room goes on on the other', async () => {
    const home = pool.homeOf(RoomId('S'), ParticipantId('1'))!;
    const homed = ['1', '2', '3', '4', '5'].filter(
      (id) => pool.homeOf(RoomId('S'), ParticipantId(id)) === home,
    );
    events.length = 0;
    await pool.terminateWorker(home);
    const lost = events
      .filter((e) => e.event.type === 'participantLost')
      .map((e) => ('participantId' in e.event ? e.event.participantId : ''))
      .sort();
    assert.deepEqual(lost, homed.sort());
    for (const id of homed) assert.equal(pool.homeOf(RoomId('S'), ParticipantId(id)), undefined);
    const survivors = ['1', '2', '3', '4', '5'].filter((id) => !homed.includes(id));
    for (const id of survivors) assert.notEqual(pool.homeOf(RoomId('S'), ParticipantId(id)), undefined);
    const dump = await sfu.dump();
    const room = dump.rooms.find((r) => r.roomId === 'S')!;
    assert.deepEqual(room.workers, [1 - home]);
    for (const id of survivors) await sfu.leave({ roomId: RoomId('S'), participantId: ParticipantId(id) });
    assert.deepEqual((await sfu.dump()).rooms, []);
    assert.deepEqual(
      pool.placement().map((p) => p.participants),
      [0, 0],
    );
  });
});
