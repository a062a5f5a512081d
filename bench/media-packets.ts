// Pre-built media for the load peers ("encode once, replay many"): VP8 simulcast frames with real
// RTP payload descriptors (RFC 7741) and keyframe headers, Opus-sized audio frames. Payload bytes
// are built once per layer; each send only writes the RTP header fields and the send timestamp.

/** One simulcast layer as a camera at 30 fps would send it. */
export interface VideoLayerSpec {
  rid: string;
  width: number;
  height: number;
  bitrateBps: number;
}

/** 720p 3-layer simulcast, ~1.5 Mbit/s top layer (what a Waterbus client publishes). */
export const SIMULCAST_720P: VideoLayerSpec[] = [
  { rid: 'q', width: 320, height: 180, bitrateBps: 150_000 },
  { rid: 'h', width: 640, height: 360, bitrateBps: 500_000 },
  { rid: 'f', width: 1280, height: 720, bitrateBps: 1_500_000 },
];

export const VIDEO_FPS = 30;
export const AUDIO_FRAME_MS = 20;
/** Opus at ~32 kbit/s in 20 ms frames. */
const AUDIO_PAYLOAD_BYTES = 80;
const MAX_PAYLOAD_BYTES = 1100;
/** Keyframes are this much larger than delta frames. */
const KEYFRAME_FACTOR = 3;

/** Header extension ids the load peers offer (one-byte form, RFC 8285). */
export const EXT_AUDIO_LEVEL = 1;
export const EXT_MID = 4;
export const EXT_RID = 10;

/** The send timestamp trailer: a magic word and process.hrtime.bigint() (CLOCK_MONOTONIC, shared by all processes). */
const STAMP_MAGIC = 0x42425453; // 'BBTS'
const STAMP_BYTES = 12;

function vp8Descriptor(start: boolean, pictureId: number, tl0: number): Buffer {
  // X=1, S on the first packet of the frame, PID=0; I (15-bit picture id), L (TL0PICIDX), T (TID 0, Y).
  const d = Buffer.alloc(6);
  d[0] = 0x80 | (start ? 0x10 : 0);
  d[1] = 0x80 | 0x40 | 0x20;
  d.writeUInt16BE(0x8000 | (pictureId & 0x7fff), 2);
  d[4] = tl0 & 0xff;
  d[5] = 0x20;
  return d;
}

/** Frame bytes of a VP8 frame: the 3-byte frame tag (P bit = !keyframe), and for keyframes the start code and size. */
function vp8FrameBytes(bytes: number, keyframe: boolean, layer: VideoLayerSpec): Buffer {
  const frame = Buffer.alloc(bytes, 0x5a);
  const firstPartition = Math.min(bytes, 1000);
  // Frame tag (RFC 6386 §9.1): P bit (inverse keyframe), version 0, show_frame, partition size.
  const tag = (keyframe ? 0 : 1) | (1 << 4) | (firstPartition << 5);
  frame[0] = tag & 0xff;
  frame[1] = (tag >> 8) & 0xff;
  frame[2] = (tag >> 16) & 0xff;
  if (keyframe) {
    frame[3] = 0x9d;
    frame[4] = 0x01;
    frame[5] = 0x2a;
    frame.writeUInt16LE(layer.width, 6);
    frame.writeUInt16LE(layer.height, 8);
  }
  return frame;
}

/**
 * Splits a frame into RTP payloads of at most MAX_PAYLOAD_BYTES (descriptor included); the last
 * one ends with STAMP_BYTES of room for the send timestamp (after the frame's bytes: a decoder
 * ignores what follows the last partition).
 */
function packetize(frame: Buffer): Buffer[] {
  const room = MAX_PAYLOAD_BYTES - 6;
  const count = Math.max(1, Math.ceil((frame.length + STAMP_BYTES) / room));
  const per = Math.ceil(frame.length / count);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const chunk = frame.subarray(i * per, Math.min(frame.length, (i + 1) * per));
    const last = i === count - 1;
    const payload = Buffer.alloc(6 + chunk.length + (last ? STAMP_BYTES : 0));
    vp8Descriptor(i === 0, 0, 0).copy(payload);
    chunk.copy(payload, 6);
    out.push(payload);
  }
  return out;
}

/** Frames of one group of pictures: the first is a keyframe. */
export const GOP_FRAMES = 2 * VIDEO_FPS;

/**
 * A pre-built video layer: one group of pictures, packetized once. Real VP8 frames when given
 * (encoded once by Chromium, see chromium.ts), else synthetic frames with valid VP8 frame tags and
 * keyframe headers (enough for the SFU, not for a decoder). The picture id and TL0PICIDX of each
 * send are written into the descriptors in place.
 */
export class VideoLayerSource {
  readonly spec: VideoLayerSpec;
  readonly frames: Buffer[][];

  constructor(spec: VideoLayerSpec, encoded?: Array<{ key: boolean; data: Buffer }>) {
    this.spec = spec;
    if (encoded && encoded.length > 0 && encoded[0]!.key) {
      this.frames = encoded.map((f) => packetize(f.data));
    } else {
      const deltaBytes = Math.round(spec.bitrateBps / 8 / VIDEO_FPS);
      const key = packetize(vp8FrameBytes(deltaBytes * KEYFRAME_FACTOR, true, spec));
      const delta = packetize(vp8FrameBytes(deltaBytes, false, spec));
      this.frames = Array.from({ length: GOP_FRAMES }, (_, i) => (i === 0 ? key : delta));
    }
  }

  /** Payloads of frame `index` of the group (0 is the keyframe), numbered `pictureId`. */
  frame(index: number, pictureId: number): Buffer[] {
    const payloads = this.frames[index % this.frames.length]!;
    for (const p of payloads) {
      p.writeUInt16BE(0x8000 | (pictureId & 0x7fff), 2);
      p[4] = pictureId & 0xff;
    }
    return payloads;
  }
}

export function audioPayload(): Buffer {
  return Buffer.alloc(AUDIO_PAYLOAD_BYTES + STAMP_BYTES, 0x33);
}

/** Extension block (RFC 8285 one-byte form): mid and rid, or mid and audio level. */
export function extensionBlock(mid: string, rid: string | undefined, audioLevel?: number): Buffer {
  const elements: number[] = [(EXT_MID << 4) | (mid.length - 1), ...Buffer.from(mid)];
  if (rid !== undefined) elements.push((EXT_RID << 4) | (rid.length - 1), ...Buffer.from(rid));
  if (audioLevel !== undefined) elements.push(EXT_AUDIO_LEVEL << 4, 0x80 | audioLevel);
  while (elements.length % 4 !== 0) elements.push(0);
  const block = Buffer.alloc(4 + elements.length);
  block.writeUInt16BE(0xbede, 0);
  block.writeUInt16BE(elements.length / 4, 2);
  Buffer.from(elements).copy(block, 4);
  return block;
}

/** An RTP packet: fixed header, the extension block (when given), the payload. */
export function buildRtp(options: {
  payloadType: number;
  marker: boolean;
  seq: number;
  timestamp: number;
  ssrc: number;
  extensions: Buffer | undefined;
  payload: Buffer;
}): Buffer {
  const ext = options.extensions;
  const packet = Buffer.allocUnsafe(12 + (ext?.length ?? 0) + options.payload.length);
  packet[0] = 0x80 | (ext ? 0x10 : 0);
  packet[1] = (options.marker ? 0x80 : 0) | options.payloadType;
  packet.writeUInt16BE(options.seq & 0xffff, 2);
  packet.writeUInt32BE(options.timestamp >>> 0, 4);
  packet.writeUInt32BE(options.ssrc >>> 0, 8);
  let o = 12;
  if (ext) o += ext.copy(packet, 12);
  options.payload.copy(packet, o);
  return packet;
}

/** Writes the send timestamp into the last bytes of the packet's payload. */
export function stampPacket(packet: Buffer, nowNs: bigint): void {
  const o = packet.length - STAMP_BYTES;
  packet.writeUInt32BE(STAMP_MAGIC, o);
  packet.writeBigUInt64BE(nowNs, o + 4);
}

/** The send timestamp of a (decrypted) RTP packet of `length` bytes, or undefined. */
export function readStamp(packet: Buffer, length: number): bigint | undefined {
  const o = length - STAMP_BYTES;
  if (o < 12 || packet.readUInt32BE(o) !== STAMP_MAGIC) return undefined;
  return packet.readBigUInt64BE(o + 4);
}

/** RTP header bytes (fixed + CSRCs + extension), or -1 when malformed. */
export function rtpHeaderLength(packet: Buffer): number {
  if (packet.length < 12) return -1;
  let o = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) {
    if (packet.length < o + 4) return -1;
    o += 4 + packet.readUInt16BE(o + 2) * 4;
  }
  return o <= packet.length ? o : -1;
}
