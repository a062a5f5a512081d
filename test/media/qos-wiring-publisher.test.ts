import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ParticipantId } from '../../src/lib/ids.ts';
import { Publisher } from '../../src/sfu/media/publisher.ts';
import type { WebRtcTransport } from '../../src/transport/webrtc-transport.ts';
import { ManualClock } from '../fakes/manual-clock.ts';
import { fakeTransport, subscription, upTrack, vp8 } from '../support/qos-rig.ts';

/** Publisher 'p' of one track over `transport`, without media state. */
function onePublisher(transport: WebRtcTransport, clock: ManualClock): Publisher {
  return new Publisher({
    participantId: 'p' as ParticipantId,
    transport,
    clock,
    mediaState: {} as never,
    totalTracks: 1,
    onReady: () => undefined,
  });
}

describe('QoS wiring: Publisher, layer wishes and loss repair', () => {
  it('setPreferredQuality sets preferred, reaches Dynacast and Publisher.onLayersWanted', () => {
    const clock = new ManualClock();
    const wanted: unknown[] = [];
    const up = upTrack(clock, ['q', 'h', 'f'], [], wanted);
    const a = subscription(fakeTransport().transport, clock, { subscriberId: 'a' as ParticipantId });
    const b = subscription(fakeTransport().transport, clock, { subscriberId: 'b' as ParticipantId });
    const downA = a.addTrack(up, { ssrc: 1, payloadType: 96 });
    b.addTrack(up, { ssrc: 2, payloadType: 96 });
    assert.deepEqual(wanted.at(-1), [3, 2], 'both want the top layer');
    assert.equal(a.setPreferredQuality('cam', 1), true);
    assert.deepEqual(downA.preferred, { spatial: 0, temporal: 7 });
    assert.equal(b.setPreferredQuality('cam', 2), true);
    clock.advance(6000);
    assert.deepEqual(wanted.at(-1), [2, 2], 'top layer stops after the delay: medium is the most wanted');
    b.setPreferredQuality('cam', 0);
    assert.deepEqual(wanted.at(-1), [2, 1], 'one subscriber left wanting');
    clock.advance(6000);
    assert.deepEqual(wanted.at(-1), [1, 1]);
    a.setPreferredQuality('cam', 3);
    assert.deepEqual(wanted.at(-1), [3, 1], 'wanted again: resumes at once');
    assert.equal(a.setPreferredQuality('nope', 3), false);
    a.close();
    b.close();
  });

  it('Publisher asks for what the publisher lost (NACK) and puts its RTX repairs back into the stream', () => {
    const clock = new ManualClock();
    const { transport, t, rtcp } = fakeTransport();
    const publisher = onePublisher(transport, clock);
    const [up] = publisher.addTracks([
      {
        mid: '0',
        kind: 'video',
        trackId: 'cam',
        streamId: 's',
        codec: { mimeType: 'video/VP8', payloadType: 96, rtxPayloadType: 97, clockRate: 90_000, fmtp: {} },
        ssrcs: [0x1111],
        rids: [],
        headerExtensions: [],
      },
    ]);
    const seen: number[] = [];
    up!.sinks.add({ writeRtp: (p: { sequenceNumber: number }) => seen.push(p.sequenceNumber) } as never);
    const packets = [1, 2, 3, 4, 5].map((seq) =>
      vp8(0x1111, seq, seq * 3000, { key: seq === 1, pictureId: seq }),
    );
    const lostAt = clock.nowMs();
    const deliver = t.onRtp as (p: Buffer) => void;
    for (const p of [packets[0]!, packets[1]!, packets[4]!]) deliver(p);
    assert.deepEqual(seen, [1, 2, 5]);
    clock.advance(25);
    const nack = rtcp.at(-1)!;
    assert.equal(nack[1], 205, 'an RTPFB');
    assert.equal(nack[0]! & 0x1f, 1, 'generic NACK');
    assert.equal(nack.readUInt32BE(8), 0x1111);
    assert.equal(nack.readUInt16BE(12), 3, 'from sequence number 3');
    assert.equal(nack.readUInt16BE(14), 0b1, 'and 4');
    // The publisher resends 3 and 4 on its RTX stream: original sequence number first (RFC 4588).
    for (const [i, lost] of [packets[2]!, packets[3]!].entries()) {
      const rtx = Buffer.concat([lost.subarray(0, 20), Buffer.from([0, 3 + i]), lost.subarray(20)]);
      rtx[1] = (lost[1]! & 0x80) | 97;
      rtx.writeUInt16BE(500 + i, 2);
      rtx.writeUInt32BE(0x2222, 8);
      deliver(rtx);
    }
    assert.deepEqual(seen, [1, 2, 5, 3, 4], 'repaired, in the original stream');
    assert.equal(publisher.repaired, 2);
    // Probe padding over RTX carrying a packet already here: dropped, not forwarded twice.
    const copy = Buffer.concat([packets[4]!.subarray(0, 20), Buffer.from([0, 5]), packets[4]!.subarray(20)]);
    copy[1] = (packets[4]![1]! & 0x80) | 97;
    copy.writeUInt16BE(502, 2);
    copy.writeUInt32BE(0x2222, 8);
    deliver(copy);
    assert.deepEqual(seen, [1, 2, 5, 3, 4]);
    assert.equal(publisher.duplicates, 1);
    const sentBefore = rtcp.length;
    clock.advance(100);
    assert.equal(rtcp.filter((p, i) => i >= sentBefore && p[1] === 205).length, 0, 'nothing more to ask');
    assert.equal(up!.lastUpstreamLossMs, lostAt, 'the loss is known to the track');
    publisher.close();
  });

  it('Publisher exposes onLayersWanted with the track id', () => {
    const clock = new ManualClock();
    const { transport } = fakeTransport();
    const publisher = onePublisher(transport, clock);
    const calls: unknown[] = [];
    publisher.onLayersWanted = (trackId, quality, count) => calls.push([trackId, quality, count]);
    const [up] = publisher.addTracks([
      {
        mid: '0',
        kind: 'video',
        trackId: 'cam-1',
        streamId: 's',
        codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} },
        ssrcs: [],
        rids: ['q', 'h', 'f'],
        headerExtensions: [],
      },
    ]);
    up!.setSubscriberWish('x', 1);
    assert.deepEqual(calls.at(-1), ['cam-1', 3, 1]);
    clock.advance(6000);
    assert.deepEqual(calls.at(-1), ['cam-1', 2, 1]);
    publisher.close();
  });
});
