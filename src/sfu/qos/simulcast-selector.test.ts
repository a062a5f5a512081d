import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { type LayerPacket, MAX_DRAIN_WAIT_MS, SimulcastSelector } from './simulcast-selector.ts';
import { NO_LAYER } from './video-layer.ts';

const FRAME_TICKS = 3000;

/** A packet builder: `frame` numbers frames so that each gets its own RTP timestamp. */
function onLayer(spatial: number, frame: number, extra: Partial<LayerPacket> = {}): LayerPacket {
  return {
    spatial,
    temporal: -1,
    keyframe: false,
    timestamp: (1000 + frame * FRAME_TICKS) >>> 0,
    marker: true,
    ...extra,
  };
}
const keyframeOnLayer = (spatial: number, frame: number, extra: Partial<LayerPacket> = {}) =>
  onLayer(spatial, frame, { keyframe: true, temporal: 0, ...extra });

/** One frame on each of layers 0..top (simulcast), 33 ms apart; returns what was forwarded. */
function frameOnAllLayers(
  s: SimulcastSelector,
  clock: ManualClock,
  frame: number,
  top: number,
  keyframes: number[] = [],
) {
  clock.advance(33);
  const forwarded: number[] = [];
  for (let layer = 0; layer <= top; layer++) {
    const p = keyframes.includes(layer) ? keyframeOnLayer(layer, frame) : onLayer(layer, frame);
    const r = s.select(p);
    if (r.forward) forwarded.push(layer);
  }
  return forwarded;
}

function started(mode: 'simulcast' | 'svc' = 'simulcast') {
  const clock = new ManualClock();
  const s = new SimulcastSelector({ clock, mode });
  return { clock, s };
}

describe('SimulcastSelector (simulcast)', () => {
  it('select() forwards nothing before a keyframe, and asks for one on the target layer', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 2, temporal: 2 });
    assert.deepEqual(frameOnAllLayers(s, clock, 1, 2), []);
    const r = s.select(onLayer(2, 1));
    assert.equal(r.needKeyframe, 2);
    assert.deepEqual(frameOnAllLayers(s, clock, 2, 2, [2]), [2]);
    assert.deepEqual(s.current, { spatial: 2, temporal: 2 });
  });

  it('select() switches up only at a keyframe of the target layer', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 0, temporal: 2 });
    assert.deepEqual(frameOnAllLayers(s, clock, 1, 2, [0]), [0]);
    s.setTarget({ spatial: 2, temporal: 2 });
    const waiting = s.select(onLayer(0, 2));
    assert.equal(waiting.forward, true, 'the current layer flows while waiting');
    assert.equal(waiting.needKeyframe, 2);
    assert.deepEqual(frameOnAllLayers(s, clock, 3, 2), [0]);
    clock.advance(33);
    assert.equal(s.select(onLayer(0, 4)).forward, true);
    const up = s.select(keyframeOnLayer(2, 4));
    assert.deepEqual([up.forward, up.switched, up.needKeyframe], [true, true, undefined]);
    assert.deepEqual(frameOnAllLayers(s, clock, 5, 2), [2]);
  });

  it('select() takes an intermediate layer on the way up when its keyframe comes first', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 0, temporal: 2 });
    frameOnAllLayers(s, clock, 1, 2, [0]);
    s.setTarget({ spatial: 2, temporal: 2 });
    assert.deepEqual(frameOnAllLayers(s, clock, 2, 2, [1]), [0, 1], 'layer 0 until the keyframe of 1');
    assert.equal(s.select(onLayer(1, 3)).needKeyframe, 2);
  });

  it('select() switches down at a keyframe of a lower layer not below the target, forwarding the current layer until then', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 2, temporal: 2 });
    frameOnAllLayers(s, clock, 1, 2, [2]);
    s.setTarget({ spatial: 0, temporal: 2 });
    assert.deepEqual(frameOnAllLayers(s, clock, 2, 2), [2]);
    assert.equal(s.select(onLayer(2, 3)).needKeyframe, 0);
    assert.deepEqual(frameOnAllLayers(s, clock, 3, 2, [1]), [1], 'layer 1 is on the way down');
    clock.advance(33);
    const down = s.select(keyframeOnLayer(0, 4));
    assert.deepEqual([down.forward, down.switched], [true, true]);
    assert.equal(s.select(onLayer(1, 4)).forward, false);
    assert.deepEqual(s.current, { spatial: 0, temporal: 2 });
  });

  it('select() falls back to a lower layer when the current one stops sending for a second', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 2, temporal: 2 });
    frameOnAllLayers(s, clock, 1, 2, [2]);
    for (let f = 2; f < 40; f++) frameOnAllLayers(s, clock, f, 1);
    assert.equal(s.maxSeen.spatial, 1);
    const r = s.select(onLayer(1, 40));
    assert.equal(r.needKeyframe, 1);
    assert.deepEqual(frameOnAllLayers(s, clock, 41, 1, [1]), [1]);
    assert.equal(s.current.spatial, 1);
    assert.deepEqual(frameOnAllLayers(s, clock, 42, 2, [2]), [1, 2], 'back up when layer 2 returns');
  });

  it('a layer is taken as stopped once lower layers sent 8 frames without it, not when the whole publisher pauses', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 2, temporal: 2 });
    frameOnAllLayers(s, clock, 1, 2, [2]);
    clock.advance(800);
    assert.deepEqual(frameOnAllLayers(s, clock, 2, 2), [2], 'a pause of every layer is no reason to leave');
    for (let f = 3; f < 10; f++) frameOnAllLayers(s, clock, f, 1);
    assert.equal(s.maxSeen.spatial, 2, 'seven frames of the lower layers: not yet');
    frameOnAllLayers(s, clock, 10, 1);
    assert.equal(s.maxSeen.spatial, 1, 'the eighth (264 ms at 30 fps): layer 2 stopped');
    assert.equal(s.select(onLayer(1, 11)).needKeyframe, 1);
    assert.deepEqual(frameOnAllLayers(s, clock, 12, 1, [1]), [1]);
    assert.deepEqual(frameOnAllLayers(s, clock, 13, 2, [2]), [1, 2], 'back up when layer 2 returns');
  });

  it('an urgent down-switch forwards nothing of the current layer until the target keyframe, for at most 2 s', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 2, temporal: 2 });
    frameOnAllLayers(s, clock, 1, 2, [2]);
    s.setTarget({ spatial: 0, temporal: 2 }, true);
    assert.deepEqual(frameOnAllLayers(s, clock, 2, 2), [], 'layer 2 stops at once');
    assert.deepEqual(frameOnAllLayers(s, clock, 3, 2, [0]), [0], 'the target keyframe switches');
    assert.deepEqual(frameOnAllLayers(s, clock, 4, 2), [0]);
    // Urgent again, but the keyframe never comes: after 2 s the current layer flows again.
    s.setTarget({ spatial: 2, temporal: 2 });
    frameOnAllLayers(s, clock, 5, 2, [2]);
    s.setTarget({ spatial: 1, temporal: 2 }, true);
    assert.deepEqual(frameOnAllLayers(s, clock, 6, 2), []);
    clock.advance(2000);
    assert.deepEqual(frameOnAllLayers(s, clock, 7, 2), [2], 'given up: better late pictures than none');
  });

  it('layerStopped() lets the fallback start without waiting for the timeout', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 2, temporal: 2 });
    frameOnAllLayers(s, clock, 1, 2, [2]);
    s.layerStopped(2);
    assert.deepEqual(frameOnAllLayers(s, clock, 2, 1, [0]), [0]);
    assert.equal(s.current.spatial, 0);
  });

  it('select() forwards a higher layer when only that one is sent', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 0, temporal: 2 });
    clock.advance(33);
    assert.equal(s.select(keyframeOnLayer(1, 1)).forward, true);
    assert.equal(s.current.spatial, 1);
  });

  it('select() drops temporal layers above the target, and raises them at a layer-sync frame', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 0, temporal: 0 });
    clock.advance(33);
    assert.equal(s.select(keyframeOnLayer(0, 0)).forward, true);
    const tids = [0, 2, 1, 2, 0, 2, 1, 2];
    const sent = tids.filter((t, i) => s.select(onLayer(0, i + 1, { temporal: t })).forward);
    assert.deepEqual(sent, [0, 0]);
    s.setTarget({ spatial: 0, temporal: 2 });
    assert.equal(s.select(onLayer(0, 9, { temporal: 1 })).forward, false, 'no sync: TL1 would miss refs');
    assert.equal(s.select(onLayer(0, 10, { temporal: 1, layerSync: true })).forward, true);
    assert.equal(s.select(onLayer(0, 11, { temporal: 2, layerSync: true })).forward, true);
    s.setTarget({ spatial: 0, temporal: 1 });
    assert.equal(s.select(onLayer(0, 12, { temporal: 2 })).forward, false);
    assert.equal(s.select(onLayer(0, 13, { temporal: 1 })).forward, true);
  });

  it('a temporal change waits for the next frame: packets of one frame share a decision', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 0, temporal: 2 });
    clock.advance(33);
    s.select(keyframeOnLayer(0, 0));
    assert.equal(s.select(onLayer(0, 1, { temporal: 2 })).forward, true);
    s.setTarget({ spatial: 0, temporal: 0 });
    assert.equal(s.select(onLayer(0, 1, { temporal: 2 })).forward, true, 'rest of frame 1');
    assert.equal(s.select(onLayer(0, 2, { temporal: 2 })).forward, false);
  });

  it('setTarget(NO_LAYER) pauses the track; resuming waits for a keyframe', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 1, temporal: 2 });
    frameOnAllLayers(s, clock, 1, 2, [1]);
    s.setTarget(NO_LAYER);
    assert.deepEqual(frameOnAllLayers(s, clock, 2, 2, [0, 1, 2]), []);
    assert.deepEqual(s.current, NO_LAYER);
    s.setTarget({ spatial: 1, temporal: 2 });
    assert.deepEqual(frameOnAllLayers(s, clock, 3, 2), []);
    const r = s.select(keyframeOnLayer(1, 4));
    assert.deepEqual([r.forward, r.switched], [true, true]);
  });

  it('preferred is a ceiling on target', () => {
    const { clock, s } = started();
    s.setPreferred({ spatial: 1, temporal: 2 });
    s.setTarget({ spatial: 2, temporal: 2 });
    frameOnAllLayers(s, clock, 1, 2);
    assert.deepEqual(frameOnAllLayers(s, clock, 2, 2, [0, 1, 2]), [0, 1], 'up from 0 to 1, never 2');
    assert.deepEqual(frameOnAllLayers(s, clock, 3, 2, [2]), [1]);
    assert.throws(() => s.setPreferred({ spatial: 9, temporal: 0 }), TypeError);
  });

  it('without an allocator, select() follows the best layer the publisher sends', () => {
    const { clock, s } = started();
    assert.deepEqual(frameOnAllLayers(s, clock, 1, 0, [0]), [0]);
    assert.equal(s.select(onLayer(0, 2)).needKeyframe, undefined);
    assert.deepEqual(frameOnAllLayers(s, clock, 3, 2, [2]), [0, 2]);
    assert.deepEqual(s.maxSeen, { spatial: 2, temporal: 0 });
  });

  it('an urgent down-switch waits for the queue to drain: the target keyframe is neither asked for nor taken before, an intermediate layer never', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 2, temporal: 2 });
    frameOnAllLayers(s, clock, 1, 2, [2]);
    s.setTarget({ spatial: 0, temporal: 2 }, true, 300);
    assert.equal(s.draining, true);
    assert.deepEqual(frameOnAllLayers(s, clock, 2, 2, [0, 1]), [], 'no keyframe enters the full queue');
    assert.equal(s.select(onLayer(0, 3)).needKeyframe, undefined, 'none asked for while it drains');
    clock.advance(300);
    assert.equal(s.draining, false);
    assert.equal(s.select(onLayer(0, 12)).needKeyframe, 0, 'drained: the target keyframe is asked for');
    assert.deepEqual(frameOnAllLayers(s, clock, 13, 2, [1]), [], 'layer 1 does not fit the link either');
    assert.deepEqual(frameOnAllLayers(s, clock, 14, 2, [0, 1]), [0], 'switched at the target keyframe');
    assert.equal(s.current.spatial, 0);
  });
});

describe('SimulcastSelector: the drain wait', () => {
  it('is capped: a standing queue longer than MAX_DRAIN_WAIT_MS delays the target keyframe by that much at most (the switch must land within 2 s of the cap)', () => {
    const { clock, s } = started();
    s.setTarget({ spatial: 2, temporal: 2 });
    frameOnAllLayers(s, clock, 1, 2, [2]);
    s.setTarget({ spatial: 0, temporal: 2 }, true, 3000);
    clock.advance(MAX_DRAIN_WAIT_MS - 1);
    assert.equal(s.draining, true);
    clock.advance(1);
    assert.equal(s.draining, false, `no longer than ${MAX_DRAIN_WAIT_MS} ms`);
    assert.equal(s.select(onLayer(0, 12)).needKeyframe, 0);
  });
});

describe('SimulcastSelector (VP9 SVC)', () => {
  /** One picture: spatial layers 0..top, one packet each, E set on each, marker on the top one. */
  function picture(s: SimulcastSelector, clock: ManualClock, frame: number, top: number, key = false) {
    clock.advance(33);
    const out: Array<[number, boolean]> = [];
    for (let sid = 0; sid <= top; sid++) {
      const p = onLayer(sid, frame, { keyframe: key && sid === 0, endOfFrame: true, marker: sid === top });
      const r = s.select(p);
      if (r.forward) out.push([sid, r.marker]);
    }
    return out;
  }

  it('svc: forwards spatial layers up to the target, with the marker on the highest forwarded', () => {
    const { clock, s } = started('svc');
    s.setTarget({ spatial: 1, temporal: 2 });
    assert.deepEqual(picture(s, clock, 1, 2), []);
    assert.deepEqual(picture(s, clock, 2, 2, true), [
      [0, false],
      [1, true],
    ]);
  });

  it('svc: goes down at the next picture and up only at a keyframe', () => {
    const { clock, s } = started('svc');
    s.setTarget({ spatial: 2, temporal: 2 });
    picture(s, clock, 1, 2, true);
    s.setTarget({ spatial: 0, temporal: 2 });
    assert.deepEqual(picture(s, clock, 2, 2), [[0, true]]);
    s.setTarget({ spatial: 2, temporal: 2 });
    assert.deepEqual(picture(s, clock, 3, 2), [[0, true]]);
    assert.equal(s.select(onLayer(0, 4)).needKeyframe, 2);
    assert.deepEqual(picture(s, clock, 5, 2, true), [
      [0, false],
      [1, false],
      [2, true],
    ]);
  });
});
