/**
 * AAC in ADTS (ISO/IEC 13818-7 §6.2, ffmpeg's `-f adts` output) → raw AAC frames, and the
 * AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) an MP4 muxer needs instead of the headers.
 */

export const ADTS_SAMPLE_RATES = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

export interface AdtsFrame {
  /** The raw AAC frame, without its ADTS header. */
  data: Buffer;
  /** MPEG-4 audio object type (2: AAC-LC). */
  objectType: number;
  sampleRateIndex: number;
  channelConfig: number;
}

export function audioSpecificConfig(objectType: number, sampleRateIndex: number, channels: number): Buffer {
  const config = Buffer.alloc(2);
  config.writeUInt16BE((objectType << 11) | (sampleRateIndex << 7) | (channels << 3));
  return config;
}

/** Splits an ADTS byte stream cut anywhere into frames (resynchronising on a bad header). */
export class AdtsSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private readonly onFrame: (frame: AdtsFrame) => void;
  /** Bytes skipped to find a sync word again. */
  skipped = 0;

  constructor(onFrame: (frame: AdtsFrame) => void) {
    this.onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (data.length >= 7) {
      const frameLength = ((data[3]! & 0x03) << 11) | (data[4]! << 3) | (data[5]! >> 5);
      const headerLength = (data[1]! & 0x01) === 1 ? 7 : 9;
      // Why: anything but a sync word with a plausible length means we are not at a header.
      if (data[0] !== 0xff || (data[1]! & 0xf6) !== 0xf0 || frameLength <= headerLength) {
        data = data.subarray(1);
        this.skipped++;
        continue;
      }
      if (data.length < frameLength) break;
      this.onFrame({
        data: Buffer.from(data.subarray(headerLength, frameLength)),
        objectType: (data[2]! >> 6) + 1,
        sampleRateIndex: (data[2]! >> 2) & 0x0f,
        channelConfig: ((data[2]! & 0x01) << 2) | (data[3]! >> 6),
      });
      data = data.subarray(frameLength);
    }
    this.pending = data;
  }
}
