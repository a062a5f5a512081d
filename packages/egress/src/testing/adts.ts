import type { AudioFrame } from '../media/frame.ts';

const RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Test helper: an ADTS AAC stream (ffmpeg `-f adts`) as raw AAC AudioFrames, 1024 samples each. */
export function adtsToFrames(stream: Buffer): AudioFrame[] {
  const frames: AudioFrame[] = [];
  let pos = 0;
  while (pos + 7 <= stream.length && stream[pos] === 0xff && (stream[pos + 1]! & 0xf0) === 0xf0) {
    const protectionAbsent = stream[pos + 1]! & 1;
    const sampleRate = RATES[(stream[pos + 2]! >> 2) & 0xf]!;
    const channels = ((stream[pos + 2]! & 1) << 2) | (stream[pos + 3]! >> 6);
    const length = ((stream[pos + 3]! & 3) << 11) | (stream[pos + 4]! << 3) | (stream[pos + 5]! >> 5);
    const header = protectionAbsent ? 7 : 9;
    const data = Buffer.from(stream.subarray(pos + header, pos + length));
    const ptsUs = Math.round((frames.length * 1024 * 1e6) / sampleRate);
    frames.push({ kind: 'audio', codec: 'aac', data, ptsUs, samples: 1024, sampleRate, channels });
    pos += length;
  }
  return frames;
}
