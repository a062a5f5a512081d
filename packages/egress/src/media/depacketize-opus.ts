import type { CodedFrame, Depacketizer, RtpPayload } from './depacketizer.ts';

/** Opus frame sizes in 48 kHz samples by TOC config (RFC 6716 §3.1): SILK, hybrid, CELT. */
const FRAME_SAMPLES = [
  480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 480, 960, 120, 240, 480, 960,
  120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
];
/** An Opus packet holds at most 120 ms (RFC 6716 §3.2.5). */
const MAX_PACKET_SAMPLES = 5760;

/**
 * Samples (at 48 kHz) in one Opus packet from its TOC byte and frame count (RFC 6716 §3.1), or 0
 * when the packet is empty or malformed.
 */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length === 0) return 0;
  const toc = packet[0]!;
  const perFrame = FRAME_SAMPLES[toc >> 3]!;
  const code = toc & 0x03;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 1 || code === 2) frames = 2;
  else {
    if (packet.length < 2) return 0;
    frames = packet[1]! & 0x3f;
  }
  const samples = frames * perFrame;
  return samples > 0 && samples <= MAX_PACKET_SAMPLES ? samples : 0;
}

/** Opus (RFC 7587): one packet per RTP packet; an empty or malformed one is dropped. */
export class OpusDepacketizer implements Depacketizer {
  errors = 0;

  push(packet: RtpPayload): CodedFrame[] {
    if (opusPacketSamples(packet.payload) === 0) {
      this.errors++;
      return [];
    }
    return [
      {
        rtpTimestamp: packet.timestamp,
        data: Buffer.from(packet.payload),
        keyframe: true,
        width: 0,
        height: 0,
      },
    ];
  }

  lost(): void {}
}
