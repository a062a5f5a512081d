import { HandoverBatchWriter, type RelayedTrack } from '../../../../src/sfu/egress-backend.ts';

/** An RTP packet (RFC 3550 header, no CSRCs or extensions) around `payload`. */
export function rtpPacket(o: {
  seq: number;
  timestamp: number;
  ssrc: number;
  payloadType: number;
  marker?: boolean;
  payload: Buffer;
}): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (o.marker ? 0x80 : 0) | o.payloadType;
  header.writeUInt16BE(o.seq & 0xffff, 2);
  header.writeUInt32BE(o.timestamp >>> 0, 4);
  header.writeUInt32BE(o.ssrc >>> 0, 8);
  return Buffer.concat([header, o.payload]);
}

/** One handover batch (as a tap's worker sends it) of `[relayId, layer, packet]` records. */
export function handoverBatch(records: Array<[number, number, Buffer]>): ArrayBuffer {
  let out: ArrayBuffer | undefined;
  const writer = new HandoverBatchWriter({ autoFlush: false, capacity: 1 << 20, onBatch: (b) => (out = b) });
  for (const [relayId, layer, packet] of records) writer.append(relayId, layer, packet);
  writer.flush();
  return out!;
}

export function relayedTrack(o: {
  relayId: number;
  kind: 'audio' | 'video';
  mimeType: string;
  payloadType: number;
  clockRate: number;
  rids?: string[];
  channels?: number;
}): RelayedTrack {
  return {
    relayId: o.relayId,
    mid: String(o.relayId),
    kind: o.kind,
    trackId: `track-${o.relayId}`,
    streamId: 'stream',
    codec: {
      mimeType: o.mimeType,
      payloadType: o.payloadType,
      clockRate: o.clockRate,
      channels: o.channels,
      fmtp: {},
    },
    rids: o.rids ?? [],
    headerExtensions: [],
  };
}

/** The tests' usual tracks: VP8 video as relay 1, stereo Opus as relay 2. */
export const VP8_TRACK = relayedTrack({
  relayId: 1,
  kind: 'video',
  mimeType: 'video/VP8',
  payloadType: 96,
  clockRate: 90_000,
});
export const OPUS_TRACK = relayedTrack({
  relayId: 2,
  kind: 'audio',
  mimeType: 'audio/opus',
  payloadType: 111,
  clockRate: 48_000,
  channels: 2,
});

/** A one-packet VP8 frame: a keyframe with its size, or an inter frame. */
export function vp8Payload(keyframe: boolean, width = 320, height = 180): Buffer {
  if (!keyframe) return Buffer.from([0x10, 0x01, 0x00, 0x00, 0x11, 0x22]);
  const p = Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0, 0, 0, 0, 0x33]);
  p.writeUInt16LE(width, 7);
  p.writeUInt16LE(height, 9);
  return p;
}

/** A 20 ms CELT Opus packet. */
export const OPUS_20MS = Buffer.from([0xf8, 0xff, 0xfe]);
