import { mediaCounters, mediaCounting } from '../lib/media-counters.ts';
import { isRtcp } from '../rtp/rtp-packet.ts';

/**
 * Counts a datagram (or ICE-TCP frame) that reached a media port by its kind, from its first
 * bytes as RFC 7983 demultiplexes them (SRTCP told from SRTP by its packet type, RFC 5761 §4).
 * What is none of them is counted by the caller as malformed.
 */
export function countReceived(packet: Buffer): void {
  if (!mediaCounting.on) return;
  const first = packet[0] ?? 0xff;
  const bytes = packet.length;
  const c = mediaCounters;
  if (first < 4) {
    c.stunPacketsReceived++;
    c.stunBytesReceived += bytes;
  } else if (first >= 20 && first <= 63) {
    c.dtlsPacketsReceived++;
    c.dtlsBytesReceived += bytes;
  } else if (first >= 128 && first <= 191) {
    if (isRtcp(packet)) {
      c.rtcpPacketsReceived++;
      c.rtcpBytesReceived += bytes;
    } else {
      c.rtpPacketsReceived++;
      c.rtpBytesReceived += bytes;
    }
  }
}
