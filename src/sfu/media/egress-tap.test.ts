import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { TapMessage } from '../egress-backend.ts';
import { EgressTaps, parseTapFeedback, TapSink } from './egress-tap.ts';
import { decodeHandoverBatch } from './handover-batch.ts';
import { describeTrack } from './relay.ts';
import { UpTrack } from './up-track.ts';

const ROOM = RoomId('r');
const ALICE = ParticipantId('alice');

/** A VP8 packet on `ssrc` (keyframe start when `key`). */
function vp8(ssrc: number, seq: number, key: boolean): Buffer {
  const b = Buffer.alloc(12 + 3);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 3000, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = 0x10;
  b[13] = key ? 0x00 : 0x01;
  return b;
}

function setup() {
  const clock = new ManualClock();
  const plis: number[] = [];
  const track = (mid: string, kind: 'audio' | 'video', rids: string[]) =>
    new UpTrack({
      trackId: `t${mid}`,
      streamId: 's',
      mid,
      kind,
      codec:
        kind === 'video'
          ? { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} }
          : { mimeType: 'audio/opus', payloadType: 111, clockRate: 48_000, channels: 2, fmtp: {} },
      rids,
      clock,
      sendPli: (ssrc) => plis.push(ssrc),
    });
  const video = track('1', 'video', ['q', 'h', 'f']);
  video.addLayer(0x100, 'q');
  video.addLayer(0x300, 'f');
  const tracks = new Map<string, UpTrack>([['1', video]]);
  let nextRelayId = 1;
  const relayIds = new Map<UpTrack, number>();
  const taps = new EgressTaps((_room, _publisher, up) => {
    if (!relayIds.has(up)) relayIds.set(up, nextRelayId++);
    return describeTrack(relayIds.get(up)!, up);
  });
  const { port1, port2 } = new MessageChannel();
  return { clock, plis, track, video, tracks, taps, worker: port1, egress: port2 };
}

/** The next message of `type` the egress side receives (the others are skipped). */
async function next<T extends TapMessage['t']>(
  port: MessagePort,
  type: T,
): Promise<Extract<TapMessage, { t: T }>> {
  for (;;) {
    const [msg] = (await once(port, 'message')) as [TapMessage];
    if (msg.t === type) return msg as Extract<TapMessage, { t: T }>;
  }
}

/** Whether the tap's sink on `up` forwards every layer. */
function allLayers(up: UpTrack): boolean {
  return [...up.sinks].some((s) => s instanceof TapSink && s.layer === -1);
}

function layersOf(batch: ArrayBuffer): number[] {
  const layers: number[] = [];
  decodeHandoverBatch(batch, (_relayId, layer) => layers.push(layer));
  return layers;
}

/** Polls a condition set by a message the other side of a MessageChannel handles. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('EgressTaps (media worker side of an egress tap)', { timeout: 20_000 }, () => {
  it('copies every layer until told one; keyframe feedback reaches the KeyframeRequester; Dynacast keeps the layers on', async () => {
    const { plis, video, tracks, taps, worker, egress } = setup();
    const [described] = taps.open({ roomId: ROOM, participantId: ALICE }, { tracks }, worker);
    assert.equal(described!.kind, 'video');
    assert.equal(video.subscribedCount, 1, 'the tap is a Dynacast wish like a subscriber');
    assert.equal(taps.count(ROOM), 1);
    assert.equal([...video.sinks].filter((s) => s instanceof TapSink).length, 1);

    video.onRtp(vp8(0x100, 1, true), 12, 0x100);
    video.onRtp(vp8(0x300, 1, true), 12, 0x300);
    assert.deepEqual(layersOf((await next(egress, 'rtp')).batch), [0, 2]);

    egress.postMessage({ t: 'keyframe', relayId: described!.relayId, ssrc: 0 });
    egress.postMessage({ t: 'layer', relayId: described!.relayId, layer: 0 });
    await until(() => plis.length === 2, 'two PLIs');
    assert.deepEqual(plis, [0x300, 0x100], 'the best layer, then the layer switched to');

    video.onRtp(vp8(0x100, 2, false), 12, 0x100);
    video.onRtp(vp8(0x300, 2, false), 12, 0x300);
    assert.deepEqual(layersOf((await next(egress, 'rtp')).batch), [0], 'only layer 0 now');

    egress.postMessage({ t: 'layer', relayId: described!.relayId, layer: -1 });
    await until(() => allLayers(video), 'the tap back on all layers');
    video.onRtp(vp8(0x100, 3, false), 12, 0x100);
    video.onRtp(vp8(0x300, 3, false), 12, 0x300);
    assert.deepEqual(layersOf((await next(egress, 'rtp')).batch), [0, 2], 'all layers again');
    egress.close();
  });

  it('sender reports and renegotiated tracks reach the egress; gone closes the tap and detaches its sinks', async () => {
    const { track, video, tracks, taps, worker, egress } = setup();
    const [described] = taps.open({ roomId: ROOM, participantId: ALICE }, { tracks }, worker);
    video.onSenderReport(0x300, 1000, 90_000);
    assert.deepEqual(await next(egress, 'sr'), {
      t: 'sr',
      relayId: described!.relayId,
      ssrc: 0x300,
      ntpMs: 1000,
      rtpTimestamp: 90_000,
    });

    const audio = track('0', 'audio', []);
    taps.tracksAdded(ROOM, ALICE, [audio]);
    const added = await next(egress, 'tracks');
    assert.deepEqual(
      added.tracks.map((t) => t.kind),
      ['audio'],
    );
    assert.equal(audio.sinks.size, 1);

    const closed = once(egress, 'close');
    taps.publisherGone(ROOM, ALICE);
    await next(egress, 'gone');
    await closed;
    assert.equal(video.sinks.size, 0);
    assert.equal(audio.sinks.size, 0);
    assert.equal(video.subscribedCount, 0, 'its Dynacast wish is withdrawn');
    assert.equal(taps.count(ROOM), 0);
  });

  it('malformed feedback changes nothing; a port closed by the egress detaches the sinks', async () => {
    const { plis, video, tracks, taps, worker, egress } = setup();
    taps.open({ roomId: ROOM, participantId: ALICE }, { tracks }, worker);
    egress.postMessage({ t: 'layer', relayId: 999, layer: 0 });
    egress.postMessage({ t: 'nonsense' });
    egress.postMessage({ t: 'keyframe', relayId: 1, ssrc: 0 });
    // The valid message after the bad ones is served: the bad ones were dropped, not fatal.
    await until(() => plis.length === 1, 'the keyframe request');
    assert.ok(allLayers(video), 'the unknown track’s layer did not touch this one');
    const closed = once(worker, 'close');
    egress.close();
    await closed;
    assert.equal(video.sinks.size, 0);
    assert.equal(taps.count(ROOM), 0);
  });

  it('a tap on someone who publishes nothing here fails with not_found', () => {
    const { taps, worker } = setup();
    assert.throws(
      () => taps.open({ roomId: ROOM, participantId: ALICE }, undefined, worker),
      (err: { code?: string }) => err.code === 'not_found',
    );
    worker.close();
  });

  it('parseTapFeedback accepts the two feedback messages and nothing else', () => {
    assert.deepEqual(parseTapFeedback({ t: 'keyframe', relayId: 1, ssrc: 0 }), {
      t: 'keyframe',
      relayId: 1,
      ssrc: 0,
    });
    assert.deepEqual(parseTapFeedback({ t: 'layer', relayId: 1, layer: -1 }), {
      t: 'layer',
      relayId: 1,
      layer: -1,
    });
    for (const bad of [
      null,
      'x',
      { t: 'layer', relayId: 1, layer: -2 },
      { t: 'keyframe', relayId: -1, ssrc: 0 },
      { t: 'gone', relayId: 1 },
    ])
      assert.equal(parseTapFeedback(bad), undefined);
  });
});
