import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sharedExtensionIds } from './rtp-rewriter.ts';

function idMap(pairs: Array<[number, number]>): Uint8Array {
  const map = new Uint8Array(256);
  for (const [from, to] of pairs) map[from] = to;
  return map;
}

describe('sharedExtensionIds', () => {
  it('gives the first instance of a map for every map alike, and each distinct map its own', () => {
    const first = idMap([
      [1, 4],
      [3, 9],
    ]);
    assert.equal(sharedExtensionIds(first), first);
    const alike = idMap([
      [1, 4],
      [3, 9],
    ]);
    assert.equal(sharedExtensionIds(alike), first);
    const other = idMap([
      [1, 4],
      [3, 10],
    ]);
    assert.equal(sharedExtensionIds(other), other);
    assert.deepEqual([...sharedExtensionIds(alike)], [...alike]);
  });
});
