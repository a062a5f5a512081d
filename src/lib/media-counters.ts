/**
 * The media path's counters of one thread (a media worker): plain numbers the packet path
 * increments, and nothing else there (no allocation, no look-up, no metrics library). The worker
 * takes a snapshot about once a second and posts it to the control side, which adds the workers'
 * snapshots up and exposes them (media-metrics.ts).
 *
 * A worker thread has its own copy of this module, so `mediaCounters` counts that worker only.
 */
import {
  addMediaHistograms,
  emptyMediaHistograms,
  type MediaHistogramSnapshots,
} from './media-histograms.ts';

/**
 * Whether the media path counts at all: read once when the thread loads this module,
 * `BBMEET_MEDIA_COUNTERS=0` turns every counter and histogram of the media path into a no-op (each
 * counting site tests this flag first), so that a benchmark can compare the forwarding rate with
 * the counters on and off. `/metrics` then shows them at zero. On by default.
 */
export const mediaCounting = { on: process.env.BBMEET_MEDIA_COUNTERS !== '0' };

/** Turns the counting on or off for this thread (benchmarks and tests; the server uses the environment). */
export function setMediaCounting(on: boolean): void {
  mediaCounting.on = on;
}

/** The counters, by name; each is a total since the thread started. */
export const mediaCounters = {
  /** Received on the media ports, by kind (RFC 7983's first byte; SRTCP by payload type). */
  rtpPacketsReceived: 0,
  rtpBytesReceived: 0,
  rtcpPacketsReceived: 0,
  rtcpBytesReceived: 0,
  stunPacketsReceived: 0,
  stunBytesReceived: 0,
  dtlsPacketsReceived: 0,
  dtlsBytesReceived: 0,
  /** SCTP packets carried in DTLS (data channels), also counted as DTLS. */
  sctpPacketsReceived: 0,
  sctpBytesReceived: 0,
  rtpPacketsSent: 0,
  rtpBytesSent: 0,
  rtcpPacketsSent: 0,
  rtcpBytesSent: 0,
  stunPacketsSent: 0,
  stunBytesSent: 0,
  dtlsPacketsSent: 0,
  dtlsBytesSent: 0,
  sctpPacketsSent: 0,
  sctpBytesSent: 0,
  /** RTP packets written to subscribers (one per subscriber per packet; retransmissions apart). */
  forwardedPackets: 0,
  /** RTP packets handed to another media worker (a room spanning workers), once per track and
   * destination worker; and relayed packets received from one. */
  relayedPacketsSent: 0,
  relayedPacketsReceived: 0,
  nacksReceived: 0,
  nacksSent: 0,
  retransmissionsSent: 0,
  plisReceived: 0,
  plisSent: 0,
  firsReceived: 0,
  /** A peer's first valid ICE check (a pair selected), and transports no valid check ever reached. */
  iceCompleted: 0,
  iceFailed: 0,
  dtlsCompleted: 0,
  dtlsFailed: 0,
  /** A DownTrack's forwarded spatial layer changed. */
  layerSwitches: 0,
  /**
   * Video DownTracks started when their subscriber's transport connected: from the keyframe the
   * UpTrack cached, or by asking the publisher for one (none cached, too old, or incomplete).
   */
  videoStartsCached: 0,
  videoStartsAsked: 0,
  /** Dropped: SRTP/SRTCP refused by its authentication tag. */
  droppedSrtpAuth: 0,
  droppedReplay: 0,
  /** SRTP/SRTCP too short or not version 2, after the transport's check. */
  droppedMalformedSrtp: 0,
  /** Media from a known peer before its DTLS handshake gave keys, or to a peer without keys. */
  droppedNotConnected: 0,
  /** A STUN check for our ufrag that failed its integrity or role checks. */
  droppedIceCheckRefused: 0,
  /** A packet we failed to protect (it never left). */
  droppedProtectFailed: 0,
};

export type MediaCounterName = keyof typeof mediaCounters;

/**
 * Drops counted outside the block (by the endpoint, the ICE-TCP server, the relays between
 * workers and the data channels), read at snapshot time.
 */
export interface ExternalDrops {
  /** Datagrams none of STUN, DTLS, RTP or RTCP, and STUN that does not parse. */
  malformed: number;
  /** DTLS or SRTP from an address no ICE check selected. */
  unknownPeer: number;
  /** STUN naming a local ufrag we do not know. */
  unknownUfrag: number;
  /** Datagrams the kernel refused for good. */
  sendError: number;
  /** ICE-TCP packets dropped because the peer read too slowly. */
  sendBufferFull: number;
  /** ICE-TCP connections closed for bad framing. */
  tcpFraming: number;
  /** Batches or packets between workers that were malformed or for a track no longer relayed. */
  relayMalformed: number;
  relayUnknownTrack: number;
  /** Room data messages refused by a participant's grant. */
  dataRefused: number;
}

export type DropReason =
  | 'malformed'
  | 'unknown_peer'
  | 'unknown_ufrag'
  | 'srtp_auth'
  | 'replay'
  | 'not_connected'
  | 'ice_check_refused'
  | 'protect_failed'
  | 'send_error'
  | 'send_buffer_full'
  | 'tcp_framing'
  | 'relay_malformed'
  | 'relay_unknown_track'
  | 'data_refused';

/** What one worker reports about once a second: its counters, its gauges and its histograms. */
export interface MediaWorkerReport {
  counters: Record<MediaCounterName, number>;
  drops: ExternalDrops;
  gauges: MediaWorkerGauges;
  histograms: MediaHistogramSnapshots;
}

export interface MediaWorkerGauges {
  publishers: number;
  subscriptions: number;
  downTracks: number;
  transports: number;
  dataChannels: number;
  /** Event-loop delay p99 over the last report interval, seconds. */
  eventLoopDelayP99Seconds: number;
  /** CPU time (user + system) of the worker's thread since it started, seconds. */
  cpuSeconds: number;
}

/** One media worker of a process as the control side knows it (what media-metrics.ts exports). */
export interface MediaWorkerSnapshot {
  /** The worker's index in its pool. */
  worker: number;
  restarts: number;
  report: MediaWorkerReport;
}

/** A copy of the counters now (about forty numbers; taken once a second, never per packet). */
export function snapshotMediaCounters(): Record<MediaCounterName, number> {
  return { ...mediaCounters };
}

/** The counters of one report plus another (a worker's totals across its restarts). */
export function addMediaReports(a: MediaWorkerReport, b: MediaWorkerReport): MediaWorkerReport {
  const counters = { ...a.counters };
  for (const name of Object.keys(counters) as MediaCounterName[])
    counters[name] += finiteOrZero(b.counters[name]);
  const drops = { ...a.drops };
  for (const name of Object.keys(drops) as Array<keyof ExternalDrops>)
    drops[name] += finiteOrZero(b.drops[name]);
  return {
    counters,
    drops,
    gauges: { ...b.gauges, cpuSeconds: a.gauges.cpuSeconds + b.gauges.cpuSeconds },
    histograms: addMediaHistograms(a.histograms, b.histograms),
  };
}

/** A report with every counter and gauge at zero (a worker not reported yet). */
export function emptyMediaReport(): MediaWorkerReport {
  const counters = { ...mediaCounters };
  for (const name of Object.keys(counters) as MediaCounterName[]) counters[name] = 0;
  return {
    counters,
    drops: {
      malformed: 0,
      unknownPeer: 0,
      unknownUfrag: 0,
      sendError: 0,
      sendBufferFull: 0,
      tcpFraming: 0,
      relayMalformed: 0,
      relayUnknownTrack: 0,
      dataRefused: 0,
    },
    gauges: {
      publishers: 0,
      subscriptions: 0,
      downTracks: 0,
      transports: 0,
      dataChannels: 0,
      eventLoopDelayP99Seconds: 0,
      cpuSeconds: 0,
    },
    histograms: emptyMediaHistograms(),
  };
}

/** Drops by reason, from the block's counters and the external ones. */
export function dropsByReason(report: MediaWorkerReport): Record<DropReason, number> {
  const c = report.counters;
  const d = report.drops;
  return {
    malformed: d.malformed + c.droppedMalformedSrtp,
    unknown_peer: d.unknownPeer,
    unknown_ufrag: d.unknownUfrag,
    srtp_auth: c.droppedSrtpAuth,
    replay: c.droppedReplay,
    not_connected: c.droppedNotConnected,
    ice_check_refused: c.droppedIceCheckRefused,
    protect_failed: c.droppedProtectFailed,
    send_error: d.sendError,
    send_buffer_full: d.sendBufferFull,
    tcp_framing: d.tcpFraming,
    relay_malformed: d.relayMalformed,
    relay_unknown_track: d.relayUnknownTrack,
    data_refused: d.dataRefused,
  };
}

function finiteOrZero(n: number | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}
