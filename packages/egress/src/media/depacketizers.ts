import type { TrackCodec } from '../../../../src/sfu/egress-backend.ts';
import { Av1Depacketizer } from './depacketize-av1.ts';
import { H264Depacketizer } from './depacketize-h264.ts';
import { OpusDepacketizer } from './depacketize-opus.ts';
import { Vp8Depacketizer } from './depacketize-vp8.ts';
import { Vp9Depacketizer, type Vp9DepacketizerOptions } from './depacketize-vp9.ts';
import type { Depacketizer } from './depacketizer.ts';
import type { CodecName } from './frame.ts';

/** How a track is read: VP9's highest spatial layer kept (SVC); the other codecs take none. */
export type DepacketizerOptions = Vp9DepacketizerOptions;

type Entry = { codec: CodecName; create: (options?: DepacketizerOptions) => Depacketizer };

const BY_MIME: Record<string, Entry> = {
  'video/h264': { codec: 'h264', create: () => new H264Depacketizer() },
  'video/vp8': { codec: 'vp8', create: () => new Vp8Depacketizer() },
  'video/vp9': { codec: 'vp9', create: (options) => new Vp9Depacketizer(options) },
  'video/av1': { codec: 'av1', create: () => new Av1Depacketizer() },
  'audio/opus': { codec: 'opus', create: () => new OpusDepacketizer() },
};

/** The frame codec and a depacketizer for a track's codec, or undefined when egress cannot take it. */
export function depacketizerFor(codec: TrackCodec): Entry | undefined {
  return BY_MIME[codec.mimeType.toLowerCase()];
}
