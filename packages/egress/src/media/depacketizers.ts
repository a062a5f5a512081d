import type { TrackCodec } from '../../../../src/sfu/egress-backend.ts';
import { Av1Depacketizer } from './depacketize-av1.ts';
import { H264Depacketizer } from './depacketize-h264.ts';
import { OpusDepacketizer } from './depacketize-opus.ts';
import { Vp8Depacketizer } from './depacketize-vp8.ts';
import { Vp9Depacketizer } from './depacketize-vp9.ts';
import type { Depacketizer } from './depacketizer.ts';
import type { CodecName } from './frame.ts';

const BY_MIME: Record<string, { codec: CodecName; create: () => Depacketizer }> = {
  'video/h264': { codec: 'h264', create: () => new H264Depacketizer() },
  'video/vp8': { codec: 'vp8', create: () => new Vp8Depacketizer() },
  'video/vp9': { codec: 'vp9', create: () => new Vp9Depacketizer() },
  'video/av1': { codec: 'av1', create: () => new Av1Depacketizer() },
  'audio/opus': { codec: 'opus', create: () => new OpusDepacketizer() },
};

/** The frame codec and a depacketizer for a track's codec, or undefined when egress cannot take it. */
export function depacketizerFor(
  codec: TrackCodec,
): { codec: CodecName; create: () => Depacketizer } | undefined {
  return BY_MIME[codec.mimeType.toLowerCase()];
}
