import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ParticipantId } from '../../src/lib/ids.ts';
import { buildRemb } from '../../src/rtp/rtcp.ts';
import { SubscriberBudget } from '../../src/sfu/media/subscriber-budget.ts';
import { budgetFor } from '../../src/sfu/media/subscription-allocation.ts';
import { UpTrack } from '../../src/sfu/media/up-track.ts';
import { LayerAllocator } from '../../src/sfu/qos/layer-allocator.ts';
import { ManualClock } from '../fakes/manual-clock.ts';
import { fakeTransport, simulcastUpTrack, subscription, vp8 } from '../support/qos-rig.ts';

describe('QoS wiring: layer allocation under the estimate', () => {
  it('budgetFor: bandwidth alone never pauses video, even when the lowest layer measures above a higher one', () => {
    const track = (bitratesBps: number[][], paused = false) => ({
      trackId: 'p/cam',
      paused,
      visible: true,
      preferred: { spatial: 2, temporal: 0 },
      bitratesBps,
    });
    // A keyframe-heavy lowest layer (keyframes asked for on a congested link) can out-measure 'h'.
    const input = { video: [], tracks: [track([[378_000], [322_000], [530_000]])], audioTracks: 1 };
    assert.equal(budgetFor(130_000, [input]), 378_000, 'the first rung, not the smallest figure');
    assert.equal(budgetFor(1_000_000, [input]), 950_000, '50 kbps per audio track off a larger estimate');
    const paused = { video: [], tracks: [track([[100_000]], true)], audioTracks: 0 };
    assert.equal(budgetFor(10_000, [paused]), 10_000, 'a paused track needs no floor');
    const allocation = new LayerAllocator().allocate(budgetFor(130_000, [input]), input.tracks);
    assert.ok(allocation.tracks[0]!.target.spatial >= 0, 'not paused');
    assert.ok(allocation.usedBps <= 378_000);
  });

  it("a subscriber's connections share one budget: the active speaker's camera is served first, whoever publishes it", () => {
    const clock = new ManualClock();
    const budget = new SubscriberBudget({ subscriberId: 's' as ParticipantId, onEmpty: () => undefined });
    const sizes = [200, 600, 1100];
    const peers = ['p1', 'p2'].map((id) => {
      const { transport, t } = fakeTransport();
      const sub = subscription(transport, clock, { targetId: id as ParticipantId });
      budget.add(sub);
      const up = simulcastUpTrack(clock);
      const down = sub.addTrack(up, { ssrc: 0x5000, payloadType: 96 });
      return { id, sub, t, up, down };
    });
    let frame = 0;
    const feedSecond = () => {
      for (let i = 0; i < 30; i++, frame++) {
        for (const { up } of peers)
          [111, 222, 333].forEach((ssrc, s) => {
            up.onRtp(
              vp8(ssrc, frame & 0xffff, frame * 3000, {
                key: frame % 30 === 0,
                pictureId: frame,
                size: sizes[s],
              }),
              20,
              ssrc,
            );
          });
        clock.advance(1000 / 30);
      }
    };
    feedSecond();
    const rates = peers[0]!.up.bitratesBps().map((row) => row.at(-1)!);
    // Room for one top layer (with the allocator's 10 % upgrade margin) and one lowest layer, split
    // evenly between the two connections' estimates: on their own, each would take the middle layer.
    const total = rates[2]! * 1.1 + rates[0]! + 20_000;
    for (const { t } of peers) t.onRtcp!(buildRemb(1, total / 2, [0x5000]));
    budget.setActiveSpeakers(new Set(['p2' as ParticipantId]));
    budget.allocate();
    assert.deepEqual(
      peers.map((p) => p.down.target?.spatial),
      [0, 2],
      `the speaker p2 gets the top layer (layers ${rates.join('/')} bps, total ${total})`,
    );
    budget.setActiveSpeakers(new Set(['p1' as ParticipantId]));
    budget.allocate();
    assert.deepEqual(
      peers.map((p) => p.down.target?.spatial),
      [2, 0],
      'the speaker changed: so do the layers',
    );
    let inputs = 0;
    for (const { sub } of peers) {
      const own = sub.allocationInput.bind(sub);
      sub.allocationInput = (activeSpeaker: boolean) => {
        inputs++;
        return own(activeSpeaker);
      };
    }
    clock.advance(1000);
    assert.equal(inputs, 2, 'one allocation a second for the subscriber, not one per connection');
    peers[0]!.sub.close();
    assert.equal(budget.size, 1, 'a closed connection leaves the budget');
    peers[1]!.sub.close();
    assert.equal(budget.size, 0);
  });

  it('REMB-only subscriber: a low estimate moves the target to the lowest layer, a high one back up', () => {
    const clock = new ManualClock();
    const { transport, t } = fakeTransport();
    const sub = subscription(transport, clock);
    const up = simulcastUpTrack(clock);
    const down = sub.addTrack(up, { ssrc: 0x5000, payloadType: 96 });
    const sizes = [200, 600, 1100];
    const feedSecond = () => {
      for (let i = 0; i < 30; i++) {
        [111, 222, 333].forEach((ssrc, s) => {
          up.onRtp(vp8(ssrc, i, i * 3000, { key: i === 0, pictureId: i, size: sizes[s] }), 20, ssrc);
        });
        clock.advance(1000 / 30);
      }
    };
    feedSecond();
    assert.equal(down.target?.spatial, 7, 'no estimate yet: the target is the preferred layer');
    t.onRtcp!(buildRemb(1, 150_000, [0x5000]));
    feedSecond();
    // The switch waits for a keyframe of the lowest layer (each second starts with keyframes).
    feedSecond();
    assert.deepEqual(down.target, { spatial: 0, temporal: 0 }, '150 kbps holds only the lowest layer');
    assert.equal(down.current?.spatial, 0);
    t.onRtcp!(buildRemb(1, 5_000_000, [0x5000]));
    feedSecond();
    feedSecond();
    assert.equal(down.target?.spatial, 2);
    assert.equal(down.current?.spatial, 2);
    sub.close();
  });

  it('the screen share is served first: under a tight estimate it keeps its top layer, the camera its lowest', () => {
    for (const screenTrackId of ['screen', 'cam']) {
      const clock = new ManualClock();
      const { transport, t } = fakeTransport();
      const sub = subscription(transport, clock, {
        isScreenShare: (trackId) => trackId === screenTrackId,
      });
      const ups = ['cam', 'screen'].map((trackId, n) => {
        const up = new UpTrack({
          trackId,
          streamId: 'stream',
          mid: String(n),
          kind: 'video',
          codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} },
          rids: ['q', 'h', 'f'],
          clock,
          sendPli: () => undefined,
        });
        ['q', 'h', 'f'].forEach((rid, s) => {
          up.addLayer(100 * (n + 1) + s, rid);
        });
        return up;
      });
      const downs = ups.map((up, n) => sub.addTrack(up, { ssrc: 0x5000 + n, payloadType: 96 }));
      // About 48, 144 and 264 kbit/s per layer: 380 kbit/s holds one top layer and one lowest.
      const sizes = [200, 600, 1100];
      const feedSecond = () => {
        for (let i = 0; i < 30; i++) {
          ups.forEach((up, n) => {
            for (let s = 0; s < 3; s++) {
              const ssrc = 100 * (n + 1) + s;
              up.onRtp(vp8(ssrc, i, i * 3000, { key: i === 0, pictureId: i, size: sizes[s] }), 20, ssrc);
            }
          });
          clock.advance(1000 / 30);
        }
      };
      feedSecond();
      t.onRtcp!(buildRemb(1, 380_000, [0x5000, 0x5001]));
      feedSecond();
      feedSecond();
      const [cam, screen] = downs.map((d) => d.target?.spatial);
      if (screenTrackId === 'screen') assert.deepEqual([cam, screen], [0, 2], 'screen share first');
      else assert.deepEqual([cam, screen], [2, 0], 'the camera marked as the screen share wins instead');
      sub.close();
    }
  });
});
