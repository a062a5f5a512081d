import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketCache } from './packet-cache.ts';

describe('PacketCache', () => {
  it('get() returns a copy of what store() was given', () => {
    const cache = new PacketCache({ capacity: 8 });
    const packet = Buffer.from([1, 2, 3, 4]);
    cache.store(100, packet);
    packet[0] = 9;
    assert.deepEqual(cache.get(100), Buffer.from([1, 2, 3, 4]));
    assert.equal(cache.get(101), undefined);
  });

  it('old packets are overwritten by newer ones in the same slot', () => {
    const cache = new PacketCache({ capacity: 4 });
    cache.store(1, Buffer.from([1]));
    cache.store(5, Buffer.from([5]));
    assert.equal(cache.get(1), undefined);
    assert.deepEqual(cache.get(5), Buffer.from([5]));
  });

  it('handles sequence wrap-around and refuses oversized packets', () => {
    const cache = new PacketCache({ capacity: 16, maxPacketBytes: 10 });
    cache.store(65_535, Buffer.from([7]));
    cache.store(0, Buffer.from([8]));
    assert.deepEqual(cache.get(65_535), Buffer.from([7]));
    assert.deepEqual(cache.get(0), Buffer.from([8]));
    assert.equal(cache.store(1, Buffer.alloc(11)), false);
    assert.equal(cache.get(1), undefined);
  });

  it('clear() forgets everything', () => {
    const cache = new PacketCache({ capacity: 4 });
    cache.store(3, Buffer.from([3]));
    cache.clear();
    assert.equal(cache.get(3), undefined);
  });
});
