import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AllocatorTrack, LayerAllocator } from './layer-allocator.ts';
import { HIGHEST_LAYER, NO_LAYER } from './video-layer.ts';

/** Three simulcast layers × three temporal layers, cumulative bps. */
const CAMERA = [
  [150_000, 200_000, 250_000],
  [400_000, 500_000, 600_000],
  [1_200_000, 1_500_000, 1_800_000],
];
const SCREEN = [[800_000, 1_000_000, 1_200_000]];

function track(trackId: string, extra: Partial<AllocatorTrack> = {}): AllocatorTrack {
  return { trackId, paused: false, visible: true, preferred: HIGHEST_LAYER, bitratesBps: CAMERA, ...extra };
}

const targets = (a: ReturnType<LayerAllocator['allocate']>) =>
  Object.fromEntries(a.tracks.map((t) => [t.trackId, [t.target.spatial, t.target.temporal]]));

describe('LayerAllocator', () => {
  it('allocate() gives each track its best layer when the estimate covers them all', () => {
    const a = new LayerAllocator().allocate(10_000_000, [track('a'), track('b')]);
    assert.deepEqual(targets(a), { a: [2, 2], b: [2, 2] });
    assert.equal(a.usedBps, 3_600_000);
    assert.equal(a.headroomBps, 6_400_000);
    assert.equal(a.probeGoalBps, undefined);
    assert.equal(a.probeCeilingBps, undefined);
    assert.ok(a.tracks.every((t) => !t.deficient));
  });

  it('allocate() serves the screen share first, then the active speaker, then the others', () => {
    const tracks = [
      track('camera'),
      track('speaker', { activeSpeaker: true }),
      track('screen', { screenShare: true, bitratesBps: SCREEN }),
    ];
    const a = new LayerAllocator().allocate(2_000_000, tracks);
    // Base layers first (150k + 150k + 800k), then upgrades in priority order with what is left.
    assert.deepEqual(targets(a), { camera: [0, 2], speaker: [1, 1], screen: [0, 2] });
    assert.ok(a.usedBps <= 2_000_000);
    assert.deepEqual(
      a.tracks.map((t) => t.deficient),
      [true, true, false],
    );
  });

  it('allocate() gives paused and invisible tracks nothing', () => {
    const tracks = [track('paused', { paused: true }), track('hidden', { visible: false }), track('shown')];
    const a = new LayerAllocator().allocate(10_000_000, tracks);
    assert.deepEqual(targets(a), { paused: [-1, -1], hidden: [-1, -1], shown: [2, 2] });
    assert.deepEqual(
      a.tracks.map((t) => [t.bitrateBps, t.deficient]),
      [
        [0, false],
        [0, false],
        [1_800_000, false],
      ],
    );
  });

  it('allocate() pauses the lowest-priority tracks to zero when not even base layers fit', () => {
    const tracks = [track('a'), track('b', { activeSpeaker: true })];
    const a = new LayerAllocator().allocate(200_000, tracks);
    assert.deepEqual(targets(a), { a: [-1, -1], b: [0, 0] });
    assert.deepEqual(a.tracks[0]!.target, NO_LAYER);
    assert.equal(a.tracks[0]!.deficient, true);
    assert.equal(a.probeGoalBps, 150_000 + 50_000, 'the cheapest step: b to temporal layer 1');
    assert.equal(a.probeCeilingBps, 150_000 + 1_650_000 + 1_800_000, 'both at their best layer');
  });

  it('allocate() honours preferred as a ceiling', () => {
    const a = new LayerAllocator().allocate(10_000_000, [
      track('a', { preferred: { spatial: 1, temporal: 1 } }),
    ]);
    assert.deepEqual(targets(a), { a: [1, 1] });
    assert.equal(a.tracks[0]!.deficient, false);
  });

  it('allocate() takes the lowest sent layer when only layers above preferred are sent', () => {
    const bitratesBps = [[0], [0], [1_000_000, 1_200_000]];
    const a = new LayerAllocator().allocate(5_000_000, [
      track('a', { preferred: { spatial: 0, temporal: 2 }, bitratesBps }),
    ]);
    assert.deepEqual(targets(a), { a: [2, 0] });
  });

  it('allocate() starts an unmeasured track on its base spatial layer at no cost', () => {
    const a = new LayerAllocator().allocate(100_000, [track('new', { bitratesBps: [] })]);
    assert.deepEqual(targets(a), { new: [0, HIGHEST_LAYER.temporal] });
    assert.equal(a.usedBps, 0);
  });

  it('allocate() moves above the previous target only with a 10 % margin, and stays without one', () => {
    const allocator = new LayerAllocator();
    assert.deepEqual(targets(allocator.allocate(1_500_000, [track('a')])), { a: [2, 0] });
    assert.deepEqual(targets(allocator.allocate(1_600_000, [track('a')])), { a: [2, 0] }, '1.5M needs 1.65M');
    assert.deepEqual(targets(allocator.allocate(2_000_000, [track('a')])), { a: [2, 2] });
    assert.deepEqual(
      targets(allocator.allocate(1_800_000, [track('a')])),
      { a: [2, 2] },
      'staying needs no margin',
    );
    assert.deepEqual(targets(allocator.allocate(1_790_000, [track('a')])), { a: [2, 1] });
  });
});
