// The shared set-up of the QoS wiring tests (qos-wiring-*.test.ts): hand-built VP8 and VP9 RTP
// packets, a fake transport that records what is sent, VP8 UpTracks on a ManualClock and
// Subscriptions over the fake transport, all in one process without sockets.

import assert from 'node:assert/strict';
import type { ParticipantId } from '../../src/lib/ids.ts';
import { newVp8Descriptor, parseVp8 } from '../../src/rtp/codecs/vp8.ts';
import { Subscription } from '../../src/sfu/media/subscription.ts';
import type { WebRtcTransport } from '../../src/transport/webrtc-transport.ts';
import { ManualClock } from '../fakes/manual-clock.ts';
import { TWCC_EXTENSION, vp8UpTrack } from '../fakes/vp8-up-track.ts';

type SubscriptionOptions = ConstructorParameters<typeof Subscription>[0];

export const TWCC_ID_PUB = 5;
export const TWCC_ID_SUB = 7;

/**
 * A VP8 RTP packet with a one-byte-header extension block holding transport-cc (publisher id 5),
 * and a full payload descriptor: 15-bit picture id, TL0PICIDX, TID/Y; `key` makes it a keyframe.
 */
export function vp8(
  ssrc: number,
  seq: number,
  ts: number,
  o: {
    key?: boolean;
    pictureId: number;
    tl0?: number;
    tid?: number;
    sync?: boolean;
    marker?: boolean;
    size?: number;
  },
): Buffer {
  const payload = o.size ?? 100;
  const b = Buffer.alloc(12 + 8 + 6 + payload);
  b[0] = 0x90;
  b[1] = 96 | (o.marker === false ? 0 : 0x80);
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(ssrc, 8);
  b.writeUInt16BE(0xbede, 12);
  b.writeUInt16BE(1, 14);
  b[16] = (TWCC_ID_PUB << 4) | 1;
  b.writeUInt16BE(seq, 17);
  const d = 20;
  b[d] = 0x90; // X, S
  b[d + 1] = 0xe0; // I, L, T
  b[d + 2] = 0x80 | ((o.pictureId >> 8) & 0x7f);
  b[d + 3] = o.pictureId & 0xff;
  b[d + 4] = o.tl0 ?? 0;
  b[d + 5] = ((o.tid ?? 0) << 6) | (o.sync ? 0x20 : 0);
  b[d + 6] = o.key ? 0x00 : 0x01;
  return b;
}

/** A VP9 packet (RFC 9628) of one spatial layer: 15-bit picture id, layer indices, TL0PICIDX. */
export function vp9(
  seq: number,
  ts: number,
  o: { sid: number; tid?: number; inter: boolean; pictureId: number; marker: boolean },
): Buffer {
  const b = Buffer.alloc(12 + 5 + 50);
  b[0] = 0x80;
  b[1] = 98 | (o.marker ? 0x80 : 0);
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(4242, 8);
  // I, P, L, B, E: each packet is a whole layer frame.
  b[12] = 0x80 | (o.inter ? 0x40 : 0) | 0x20 | 0x08 | 0x04;
  b[13] = 0x80 | ((o.pictureId >> 8) & 0x7f);
  b[14] = o.pictureId & 0xff;
  b[15] = ((o.tid ?? 0) << 5) | (o.sid << 1) | (o.sid > 0 ? 1 : 0);
  b[16] = 0;
  return b;
}

export function fakeTransport() {
  const rtp: Buffer[] = [];
  const rtcp: Buffer[] = [];
  const t = {
    state: 'connected',
    onRtcp: null as ((p: Buffer) => void) | null,
    onRtp: null as unknown,
    sendRtp: (p: Buffer) => rtp.push(Buffer.from(p)),
    rtpBuffer: (bytes: number) => Buffer.alloc(bytes + 16),
    sendRtpInPlace: (p: Buffer, length: number) => rtp.push(Buffer.from(p.subarray(0, length))),
    sendRtcp: (p: Buffer) => rtcp.push(Buffer.from(p)),
    close: () => undefined,
    readArrivalUs: (out: Float64Array) => {
      out[0] = performance.now() * 1000;
    },
  };
  return { transport: t as unknown as WebRtcTransport, t, rtp, rtcp };
}

export function upTrack(clock: ManualClock, rids: string[], plis: number[] = [], wanted: unknown[] = []) {
  return vp8UpTrack({
    rids,
    headerExtensions: [TWCC_EXTENSION],
    clock,
    sendPli: (ssrc) => plis.push(ssrc),
    onLayersWanted: (quality, count) => wanted.push([quality, count]),
  });
}

/** A simulcast VP8 UpTrack with its three layers 'q', 'h', 'f' on SSRCs 111, 222 and 333. */
export function simulcastUpTrack(clock: ManualClock) {
  const up = upTrack(clock, ['q', 'h', 'f']);
  [111, 222, 333].forEach((ssrc, i) => {
    up.addLayer(ssrc, ['q', 'h', 'f'][i]);
  });
  return up;
}

/** A Subscription of subscriber 's' to publisher 'p' over `transport`; `options` replace any of it. */
export function subscription(
  transport: WebRtcTransport,
  clock: ManualClock,
  options: Partial<SubscriptionOptions> = {},
): Subscription {
  return new Subscription({
    subscriberId: 's' as ParticipantId,
    targetId: 'p' as ParticipantId,
    transport,
    clock,
    ...options,
  });
}

/** A subscription forwarding one single-layer VP8 track (publisher SSRC 111, ours 0x5000). */
export function oneLayerSubscription() {
  const clock = new ManualClock();
  const { transport, t } = fakeTransport();
  const sub = subscription(transport, clock);
  const up = upTrack(clock, ['q']);
  up.addLayer(111, 'q');
  sub.addTrack(up, { ssrc: 0x5000, payloadType: 96 });
  return { clock, t, sub, up };
}

const descriptor = newVp8Descriptor();
export function pictureIdOf(p: Buffer): number {
  const at = 12 + (p[0]! & 0x10 ? 4 + p.readUInt16BE(14) * 4 : 0);
  assert.ok(parseVp8(p, descriptor, at, p.length));
  return descriptor.pictureId;
}
