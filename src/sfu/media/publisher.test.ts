import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import type { ParticipantId } from '../../lib/ids.ts';
import { EXTENSION_URI } from '../../transport/negotiation/index.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import { Publisher } from './publisher.ts';

const MID_ID = 1;
const RID_ID = 2;

/** A VP8 packet carrying mid `0` and `rid` in a one-byte extension block. */
function packet(ssrc: number, seq: number, rid: string, key = true): Buffer {
  const b = Buffer.alloc(12 + 8 + 10);
  b[0] = 0x90;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 3000, 4);
  b.writeUInt32BE(ssrc, 8);
  b.writeUInt16BE(0xbede, 12);
  b.writeUInt16BE(1, 14);
  b[16] = (MID_ID << 4) | 0;
  b[17] = 0x30;
  b[18] = (RID_ID << 4) | 0;
  b[19] = rid.charCodeAt(0);
  b[20] = 0x10;
  b[21] = key ? 0x00 : 0x01;
  return b;
}

function setup(rids: string[]) {
  const clock = new ManualClock();
  const rtcp: Buffer[] = [];
  const t = {
    state: 'connected',
    onRtp: null as ((p: Buffer) => void) | null,
    onRtcp: null,
    sendRtp: () => undefined,
    sendRtcp: (p: Buffer) => rtcp.push(Buffer.from(p)),
    close: () => undefined,
    readArrivalUs: (out: Float64Array) => {
      out[0] = performance.now() * 1000;
    },
  };
  const publisher = new Publisher({
    participantId: 'p' as ParticipantId,
    transport: t as unknown as WebRtcTransport,
    clock,
    mediaState: {} as never,
    totalTracks: 1,
    onReady: () => undefined,
  });
  const [up] = publisher.addTracks([
    {
      mid: '0',
      kind: 'video',
      trackId: 'cam',
      streamId: 's',
      codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} },
      ssrcs: rids.length > 0 ? [] : [0x1111],
      rids,
      headerExtensions: [
        { uri: EXTENSION_URI.mid, id: MID_ID },
        { uri: EXTENSION_URI.rid, id: RID_ID },
      ],
    },
  ]);
  return { clock, publisher, up: up!, deliver: (p: Buffer) => t.onRtp!(p), rtcp };
}

describe('Publisher', () => {
  it('binds one SSRC per rid of the track: new SSRCs with a bound or unknown rid add no layer (each would hold a NACK cache)', () => {
    const { publisher, up, deliver } = setup(['q', 'h', 'f']);
    deliver(packet(0x100, 1, 'q'));
    deliver(packet(0x200, 1, 'f'));
    for (let i = 0; i < 50; i++) deliver(packet(0x1000 + i, 1, i % 2 === 0 ? 'q' : 'x'));
    assert.equal(up.layerCount, 2);
    assert.equal(up.layerIndexOf(0x100), 0);
    assert.equal(up.layerIndexOf(0x200), 2);
    assert.equal(up.hasSsrc(0x1000), false);
    deliver(packet(0x300, 1, 'h'));
    assert.equal(up.layerIndexOf(0x300), 1, 'the missing layer is still learnt');
    publisher.close();
  });

  it('a packet whose padding count does not fit is dropped before the NACK bookkeeping, counted', () => {
    const { clock, publisher, up, deliver, rtcp } = setup([]);
    deliver(packet(0x1111, 1, 'q'));
    const bad = packet(0x1111, 2, 'q', false);
    bad[0] = bad[0]! | 0x20;
    bad[bad.length - 1] = 200;
    deliver(bad);
    deliver(packet(0x1111, 3, 'q', false));
    assert.equal(publisher.malformed, 1);
    assert.equal(up.packetsReceived, 2);
    clock.advance(25);
    const nack = rtcp.find((p) => p[1] === 205);
    assert.ok(nack, 'the dropped packet is asked for again');
    assert.equal(nack.readUInt16BE(12), 2);
    publisher.close();
  });
});
