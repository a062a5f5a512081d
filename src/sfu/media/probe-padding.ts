import type { RtpOutput } from './rtp-output.ts';
import type { RtpRewriter } from './rtp-rewriter.ts';

/** Largest padding payload of one probe packet (the padding length is one byte). */
const MAX_PADDING_BYTES = 255;

/**
 * Sends `bytes` of probe padding on a DownTrack's RTX stream: padding-only packets of up to 255
 * bytes, each with the next RTX sequence number, the stream's last timestamp, and only the
 * transport-cc extension (one-byte form, id `transportCcId`) for the sender to stamp. Returns the
 * bytes sent.
 */
export function sendProbePadding(
  output: RtpOutput,
  rewriter: RtpRewriter,
  rtx: { ssrc: number; payloadType: number },
  timestamp: number,
  transportCcId: number,
  bytes: number,
): number {
  let sent = 0;
  while (sent < bytes) {
    const pad = Math.min(MAX_PADDING_BYTES, bytes - sent);
    const length = Math.floor(12 + 8 + pad);
    const out = output.buffer(length);
    out.fill(0, 0, length);
    out[0] = 0x80 | 0x20 | 0x10;
    out[1] = rtx.payloadType;
    out.writeUInt16BE(rewriter.nextRtxSequenceNumber(), 2);
    out.writeUInt32BE(timestamp, 4);
    out.writeUInt32BE(rtx.ssrc, 8);
    out.writeUInt16BE(0xbede, 12);
    out.writeUInt16BE(1, 14);
    out[16] = (transportCcId << 4) | 1;
    out[length - 1] = pad;
    output.send(out, length);
    sent += length;
  }
  return sent;
}
