import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { vp8UpTrack } from '../../../test/fakes/vp8-up-track.ts';
import { ParticipantId } from '../../lib/ids.ts';
import { mediaCounters } from '../../lib/media-counters.ts';
import { DownTrack } from './down-track.ts';
import {
  describeTrack,
  PeerLink,
  type PeerMessage,
  parsePeerMessage,
  RelaySink,
  RemoteUpTrack,
} from './relay.ts';

const SIMULCAST = ['q', 'h', 'f'];

/** A VP8 RTP packet with a one-byte-header extension; `key` makes it a keyframe start. */
function vp8(ssrc: number, seq: number, ts: number, key: boolean): Buffer {
  const b = Buffer.alloc(12 + 8 + 10);
  b[0] = 0x90;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(ssrc, 8);
  b.writeUInt16BE(0xbede, 12);
  b.writeUInt16BE(1, 14);
  b.writeUInt32BE(0x10ab0000, 16);
  b[20] = 0x10;
  b[21] = key ? 0x00 : 0x01;
  return b;
}

/**
 * The batch leaves at setImmediate; then the message needs turns of the loop to arrive: 20 ms at
 * least, then until `arrived` holds (at most 5 s; the assertions after it say what is missing). A
 * fixed 20 ms is not enough on a loaded machine: after a pause of the process the loop may run the
 * expired timer before it reads the channel.
 */
async function tick(arrived: () => boolean): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  const deadline = Date.now() + 5000;
  await new Promise((resolve) => setTimeout(resolve, 20));
  while (!arrived() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Two ends of a channel as two workers would hold them: the publisher's side (an UpTrack with a
 * RelaySink) and the subscriber's (a RemoteUpTrack with a DownTrack). Both run in this thread; the
 * MessageChannel and the batches are the real ones.
 */
function pair() {
  const clock = new ManualClock();
  const { port1, port2 } = new MessageChannel();
  const toPublisher: PeerMessage[] = [];
  const toSubscriber: PeerMessage[] = [];
  const publisherSide = new PeerLink(1, port1, (m) => toPublisher.push(m));
  const subscriberSide = new PeerLink(0, port2, (m) => toSubscriber.push(m));
  const plis: number[] = [];
  const up = vp8UpTrack({ rids: SIMULCAST, clock, sendPli: (ssrc) => plis.push(ssrc) });
  const relay = new RelaySink(7, publisherSide);
  up.sinks.add(relay);
  const feedback: PeerMessage[] = [];
  const remote = new RemoteUpTrack({
    track: describeTrack(7, up),
    fromWorker: 0,
    clock,
    feedback: {
      keyframe: (relayId, ssrc) => {
        feedback.push({ t: 'keyframe', relayId, ssrc });
        subscriberSide.post({ t: 'keyframe', relayId, ssrc });
      },
      wish: (relayId, subscriberId, spatial) => {
        feedback.push({ t: 'wish', relayId, subscriberId, spatial });
        subscriberSide.post({ t: 'wish', relayId, subscriberId, spatial });
      },
    },
  });
  subscriberSide.incoming.set(7, remote);
  const sent: Buffer[] = [];
  const down = new DownTrack({ upTrack: remote, ssrc: 0x5000, payloadType: 100, send: (p) => sent.push(p) });
  const close = () => {
    publisherSide.close();
    subscriberSide.close();
  };
  return {
    clock,
    up,
    remote,
    down,
    sent,
    plis,
    feedback,
    toPublisher,
    toSubscriber,
    publisherSide,
    subscriberSide,
    close,
  };
}

/** An audio track as described to another worker. */
function track() {
  return describeTrack(
    3,
    vp8UpTrack({
      trackId: 't',
      streamId: 's',
      mid: '1',
      kind: 'audio',
      codec: { mimeType: 'audio/opus', payloadType: 111, clockRate: 48_000, channels: 2, fmtp: {} },
      rids: [],
    }),
  );
}

/** A camera's VP8 backup (backup-codecs.ts) as described to another worker. */
function backupTrack() {
  return describeTrack(
    4,
    vp8UpTrack({ trackId: 'cam-copy', backupOf: 'cam', streamId: 's', mid: '3', rids: SIMULCAST }),
  );
}

describe('relay between two workers (PeerLink, RelaySink, RemoteUpTrack)', () => {
  it('packets of a simulcast track reach the other side in batches, with their layers, and are forwarded from there', async () => {
    const p = pair();
    const sent0 = mediaCounters.relayedPacketsSent;
    const received0 = mediaCounters.relayedPacketsReceived;
    try {
      p.up.addLayer(111, 'q');
      p.up.addLayer(333, 'f');
      p.up.onRtp(vp8(111, 50, 5000, true), 20, 111);
      p.up.onRtp(vp8(333, 10, 5000, true), 20, 333);
      p.up.onRtp(vp8(333, 11, 8000, false), 20, 333);
      assert.equal(p.sent.length, 0, 'nothing crosses before the burst ends');
      await tick(() => p.subscriberSide.stats.packetsIn === 3);
      assert.equal(p.publisherSide.writer.batches, 1, 'the three packets left in one batch');
      assert.equal(p.subscriberSide.stats.packetsIn, 3);
      // Both ends run in this thread here: the worker's counters (bbmeet_media_relayed_packets_total) saw both.
      assert.equal(mediaCounters.relayedPacketsSent - sent0, 3);
      assert.equal(mediaCounters.relayedPacketsReceived - received0, 3);
      assert.equal(p.remote.layerCount, 2, 'the layers were learnt from the relayed packets');
      assert.equal(p.remote.ssrcOfLayer(2), 333, 'the rid order (layer index) came with them');
      assert.equal(p.remote.ssrcOfLayer(0), 111);
      assert.ok(p.sent.length >= 2, 'the down track on the other side forwards them');
      assert.equal(p.sent.at(-1)!.readUInt32BE(8), 0x5000);
      assert.ok(p.remote.cached(333, 11), 'the other side keeps its own NACK cache');
    } finally {
      p.close();
    }
  });

  it('keyframe requests and Dynacast wishes go back to the publisher’s side; sender reports and resumes come over', async () => {
    const p = pair();
    try {
      p.up.addLayer(333, 'f');
      p.up.onRtp(vp8(333, 10, 5000, false), 20, 333);
      await tick(() => p.subscriberSide.stats.packetsIn === 1);
      p.remote.requestKeyframe(333);
      p.remote.setSubscriberWish('sub-1', 1);
      p.remote.removeSubscriberWish('sub-1');
      await tick(() => p.toPublisher.filter((m) => m.t === 'wish').length === 2);
      assert.ok(p.toPublisher.some((m) => m.t === 'keyframe' && m.relayId === 7 && m.ssrc === 333));
      assert.deepEqual(
        p.toPublisher.filter((m) => m.t === 'wish'),
        [
          { t: 'wish', relayId: 7, subscriberId: ParticipantId('sub-1'), spatial: 1 },
          { t: 'wish', relayId: 7, subscriberId: ParticipantId('sub-1'), spatial: null },
        ],
      );
      p.up.onSenderReport(333, 1_700_000_000_000, 123_456);
      await tick(() => p.toSubscriber.length === 1);
      assert.equal(p.toSubscriber.length, 1);
      const sr = p.toSubscriber[0]!;
      assert.deepEqual(sr, {
        t: 'sr',
        relayId: 7,
        ssrc: 333,
        ntpMs: 1_700_000_000_000,
        rtpTimestamp: 123_456,
      });
      // An operator's unmute on the publisher's side: the other side's tracks continue without a gap.
      p.up.setMuted(true);
      p.up.setMuted(false);
      await tick(() => p.toSubscriber.at(-1)?.t === 'resumed');
      assert.deepEqual(p.toSubscriber.at(-1), { t: 'resumed', relayId: 7 });
    } finally {
      p.close();
    }
  });

  it('malformed batches and messages from the peer are counted and dropped, never thrown', async () => {
    const { port1, port2 } = new MessageChannel();
    const got: PeerMessage[] = [];
    const link = new PeerLink(1, port2, (m) => got.push(m));
    try {
      const junk = new ArrayBuffer(16);
      port1.postMessage({ t: 'rtp', batch: junk }, [junk]);
      port1.postMessage({ t: 'rtp', batch: 'nope' });
      port1.postMessage({ t: 'want', roomId: 'r', publisherId: 'p', relayIds: [-1] });
      port1.postMessage({ t: 'want', roomId: 'r', publisherId: 'p', relayIds: [1], backups: [1.5] });
      port1.postMessage({
        t: 'tracks',
        roomId: 'r',
        publisherId: 'p',
        tracks: [{ ...track(), backupOf: 7 }],
      });
      port1.postMessage({ t: 'wish', relayId: 1, subscriberId: 's', spatial: 'high' });
      port1.postMessage({ t: 'tracks', roomId: 'r', publisherId: 'p', tracks: [{ relayId: 1 }] });
      port1.postMessage(42);
      port1.postMessage({ t: 'gone', roomId: 'r', publisherId: 'p' });
      await tick(() => got.length === 1);
      assert.equal(link.stats.malformed, 8);
      assert.deepEqual(got, [{ t: 'gone', roomId: 'r', publisherId: 'p' }]);
    } finally {
      link.close();
      port1.close();
    }
  });

  it('parsePeerMessage accepts the well-formed messages', () => {
    const good: unknown[] = [
      { t: 'want', roomId: 'r', publisherId: 'p', relayIds: [1, 2] },
      { t: 'want', roomId: 'r', publisherId: 'p', relayIds: [1, 2], backups: [2] },
      { t: 'unwant', roomId: 'r', publisherId: 'p' },
      { t: 'tracks', roomId: 'r', publisherId: 'p', tracks: [track()] },
      { t: 'tracks', roomId: 'r', publisherId: 'p', tracks: [backupTrack()] },
      { t: 'state', roomId: 'r', publisherId: 'p', state: { videoEnabled: false } },
      { t: 'keyframe', relayId: 1, ssrc: 0 },
      { t: 'wish', relayId: 1, subscriberId: 's', spatial: -1 },
      { t: 'sr', relayId: 1, ssrc: 5, ntpMs: 1.5, rtpTimestamp: 9 },
      { t: 'resumed', relayId: 1 },
      { t: 'rtp', batch: new ArrayBuffer(8) },
    ];
    for (const m of good) assert.ok(parsePeerMessage(m), JSON.stringify(m));
    assert.equal(parsePeerMessage({ t: 'what' }), undefined);
    assert.equal(parsePeerMessage({ t: 'resumed', relayId: -1 }), undefined);
  });

  it('a backup codec’s track is described with the camera it backs up, and its proxy names it too', () => {
    const described = backupTrack();
    assert.equal(described.backupOf, 'cam');
    assert.equal(track().backupOf, undefined);
    assert.equal('backupOf' in track(), false, 'a primary carries no backupOf key');
    const proxy = new RemoteUpTrack({
      track: described,
      fromWorker: 0,
      clock: new ManualClock(),
      feedback: { keyframe: () => undefined, wish: () => undefined },
    });
    assert.equal(proxy.backupOf, 'cam');
    assert.equal(proxy.trackId, 'cam-copy');
    assert.equal(proxy.codec.mimeType, 'video/VP8');
  });
});
