import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import { silentLogger } from '../lib/logger.ts';
import { SfuEgressSource } from './egress-source.ts';

const ROOM = RoomId('r');
const A = ParticipantId('a');
const B = ParticipantId('b');
const ready = (participantId: ParticipantId) =>
  ({ type: 'publisherReady', participantId, nodeId: 'n', isMigrate: false }) as const;

function setup() {
  const placed = new Set<RoomId>([ROOM]);
  const source = new SfuEgressSource({
    nodeId: 'n',
    logger: silentLogger(),
    workers: {
      tap: () => Promise.reject(new Error('not used here')),
      hasRoom: (roomId) => placed.has(roomId),
    },
  });
  const changes: unknown[] = [];
  const unwatch = source.watch(ROOM, (c) => changes.push(c));
  return { source, placed, changes, unwatch };
}

describe('SfuEgressSource', () => {
  it('publishers() lists the ready publishers in the order they became ready; watchers hear ready and left', () => {
    const { source, changes } = setup();
    source.observe(ROOM, ready(A));
    source.observe(ROOM, ready(B));
    source.observe(ROOM, { type: 'activeSpeakers', speakers: [] });
    assert.deepEqual(source.publishers(ROOM), [A, B]);
    source.observe(ROOM, ready(A));
    assert.deepEqual(source.publishers(ROOM), [B, A], 'published again: last');
    source.left(ROOM, B);
    source.observe(ROOM, { type: 'participantLost', participantId: A, reason: 'consent_timeout' });
    assert.deepEqual(source.publishers(ROOM), []);
    assert.deepEqual(changes, [
      { type: 'ready', participantId: A },
      { type: 'ready', participantId: B },
      { type: 'ready', participantId: A },
      { type: 'left', participantId: B },
      { type: 'left', participantId: A },
    ]);
  });

  it('roomClosed once the room has nobody on the workers; unwatch stops the changes', () => {
    const { source, placed, changes, unwatch } = setup();
    source.observe(ROOM, ready(A));
    placed.delete(ROOM);
    source.left(ROOM, A);
    assert.deepEqual(changes.at(-1), { type: 'roomClosed' });
    source.left(ROOM, A);
    assert.equal(changes.length, 3, 'a repeated leave closes nothing again');
    unwatch();
    source.observe(ROOM, ready(B));
    assert.equal(changes.length, 3, 'nothing after unwatch');
    assert.equal(changes.filter((c) => (c as { type: string }).type === 'roomClosed').length, 1);
  });

  it('a throwing watcher does not keep the others from hearing the change', () => {
    const { source, changes } = setup();
    source.watch(ROOM, () => {
      throw new Error('egress bug');
    });
    const later: unknown[] = [];
    source.watch(ROOM, (c) => later.push(c));
    source.observe(ROOM, ready(A));
    assert.equal(changes.length, 1);
    assert.equal(later.length, 1);
  });
});
