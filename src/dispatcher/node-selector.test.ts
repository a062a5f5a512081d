import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeId } from '../lib/ids.ts';
import type { NodeInfo, NodeLoad } from './node-directory.ts';
import { selectNode } from './node-selector.ts';

function node(id: string, load: Partial<NodeLoad> = {}, groupId = 'g1'): NodeInfo {
  return {
    nodeId: NodeId(id),
    address: `127.0.0.1:${id.length}`,
    groupId,
    load: { cpu: 0, packetsPerSecond: 0, participants: 0, rooms: 0, freePorts: 10, draining: false, ...load },
    updatedAtMs: 1,
  };
}

test('selectNode picks the node with the fewest participants (not the busiest)', () => {
  const nodes = [
    node('a', { participants: 9 }),
    node('b', { participants: 2 }),
    node('c', { participants: 5 }),
  ];
  assert.equal(selectNode(nodes, { groupId: 'g1' })?.nodeId, 'b');
});

test('selectNode skips draining nodes and nodes of other groups', () => {
  const nodes = [
    node('a', { participants: 0, draining: true }),
    node('b', { participants: 0 }, 'g2'),
    node('c', { participants: 7 }),
  ];
  assert.equal(selectNode(nodes, { groupId: 'g1' })?.nodeId, 'c');
});

test('selectNode returns undefined when no node can take a room', () => {
  assert.equal(selectNode([node('a', { draining: true })], { groupId: 'g1' }), undefined);
  assert.equal(selectNode([], { groupId: 'g1' }), undefined);
});

test('selectNode breaks ties by cpu, then packets per second, then node id', () => {
  assert.equal(
    selectNode([node('a', { cpu: 0.9 }), node('b', { cpu: 0.1 })], { groupId: 'g1' })?.nodeId,
    'b',
  );
  assert.equal(
    selectNode([node('a', { packetsPerSecond: 900 }), node('b', { packetsPerSecond: 100 })], {
      groupId: 'g1',
    })?.nodeId,
    'b',
  );
  assert.equal(selectNode([node('z'), node('y')], { groupId: 'g1' })?.nodeId, 'y');
});

test('selectNode counts placements not yet reported by the node', () => {
  const nodes = [node('a', { participants: 1 }), node('b', { participants: 2 })];
  const pending = new Map([[NodeId('a'), 3]]);
  assert.equal(selectNode(nodes, { groupId: 'g1', pending })?.nodeId, 'b');
});
