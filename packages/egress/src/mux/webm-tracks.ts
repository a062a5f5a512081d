import { Av1ObuType } from '../../../../src/rtp/codecs/av1.ts';
import { parseAv1SequenceHeader, readSizedObu } from '../media/av1-obu.ts';

/** Opus in WebM decodes at 48 kHz whatever the input rate (RFC 7845 §4). */
export const OPUS_SAMPLE_RATE = 48_000;

/** The OpusHead identification header (RFC 7845 §5.1), Matroska's Opus CodecPrivate. */
export function opusHead(channels: number, preSkip = 0): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1;
  head[9] = channels;
  head.writeUInt16LE(preSkip, 10);
  head.writeUInt32LE(OPUS_SAMPLE_RATE, 12);
  head.writeInt16LE(0, 16);
  head[18] = 0;
  return head;
}

/**
 * The AV1CodecConfigurationRecord (av1C, AV1-ISOBMFF §2.3, also Matroska's V_AV1 CodecPrivate)
 * from a temporal unit holding a sequence header: profile, level and tier from it, the sequence
 * header as configOBUs. Colour fields say 8-bit 4:2:0, what WebRTC encoders send (the decoder
 * reads the real ones from the sequence header). Undefined when the unit has no sequence header.
 */
export function av1CodecPrivate(temporalUnit: Uint8Array): Buffer | undefined {
  for (let at = 0; at < temporalUnit.length; ) {
    const obu = readSizedObu(temporalUnit, at);
    if (!obu) return undefined;
    if (obu.type === Av1ObuType.SequenceHeader) {
      const info = parseAv1SequenceHeader(obu.payload);
      if (!info) return undefined;
      const head = Buffer.from([0x81, (info.profile << 5) | info.level, (info.tier << 7) | 0x0c, 0]);
      return Buffer.concat([head, temporalUnit.subarray(at, obu.next)]);
    }
    at = obu.next;
  }
  return undefined;
}
