import { compactNtp, ntpFromUnixMs } from '../../rtp/rtcp-reports.ts';
import { seqDiff } from '../../rtp/seq.ts';

/**
 * Connection quality of a participant from what the SFU sees of its connections:
 *
 * - upstream (its publisher connection): loss from sequence gaps and interarrival jitter of every
 *   incoming media stream (RFC 3550 A.3 and A.8), per window;
 * - downstream (its subscriber connections): the RTCP receiver reports it sends about our
 *   streams: fraction lost, jitter, and round-trip time from LSR/DLSR against the times we sent
 *   our sender reports (RFC 3550 §6.4.1).
 *
 * The score is LiveKit's simplified E-model (livekit/livekit `pkg/sfu/connectionquality`, after
 * https://www.pingman.com/kb/article/how-is-mos-calculated-in-pingplotter-pro-50.html): 100 minus
 * a delay effect (effective delay = RTT/2 + 2·jitter: /40 below 160 ms, then (d − 120)/10) minus a
 * loss effect (`LOSS_WEIGHT` per percent), smoothed with LiveKit's asymmetric factors (falls at
 * 0.7, recovers at 0.4), mapped as LiveKit does: > 80 excellent, > 60 good, else poor; 'lost'
 * when nothing at all arrived from the participant in a window. A level changes only when the
 * smoothed score passes its boundary by `HYSTERESIS` points.
 */

export type ConnectionQuality = 'excellent' | 'good' | 'poor' | 'lost';

/** Score points per percent of packet loss (2 % loss keeps 'excellent', 10 % is 'poor'). */
const LOSS_WEIGHT = 4;
const EXCELLENT_ABOVE = 80;
const GOOD_ABOVE = 60;
const HYSTERESIS = 3;
const INCREASE_FACTOR = 0.4;
const DECREASE_FACTOR = 0.7;

export interface ConnectionWindow {
  /** Packets (RTP and RTCP) received from the participant on all its connections in the window. */
  packetsReceived: number;
  /** Share of packets lost in the window (worst of upstream and downstream), 0–1. */
  lossRatio: number;
  /** Interarrival jitter, ms (worst direction). */
  jitterMs: number;
  /** Round-trip time, ms, when known. */
  rttMs: number | undefined;
}

/** LiveKit's simplified E-model: 0–100. */
export function connectionScore(w: Pick<ConnectionWindow, 'lossRatio' | 'jitterMs' | 'rttMs'>): number {
  const delay = (w.rttMs ?? 0) / 2 + w.jitterMs * 2;
  const delayEffect = delay < 160 ? delay / 40 : (delay - 120) / 10;
  const lossEffect = Math.max(0, w.lossRatio) * 100 * LOSS_WEIGHT;
  return Math.max(0, Math.min(100, 100 - delayEffect - lossEffect));
}

function levelOf(score: number): Exclude<ConnectionQuality, 'lost'> {
  return score > EXCELLENT_ABOVE ? 'excellent' : score > GOOD_ABOVE ? 'good' : 'poor';
}

const RANK: Record<ConnectionQuality, number> = { lost: 0, poor: 1, good: 2, excellent: 3 };
/** Lowest score of each level (its lower boundary). */
const FLOOR: Record<ConnectionQuality, number> = {
  lost: 0,
  poor: 0,
  good: GOOD_ABOVE,
  excellent: EXCELLENT_ABOVE,
};

/** One participant's quality level with smoothing and hysteresis; `update` once per window. */
export class ConnectionQualityTracker {
  #quality: ConnectionQuality | undefined;
  #score: number | undefined;

  get quality(): ConnectionQuality | undefined {
    return this.#quality;
  }

  get score(): number | undefined {
    return this.#score === undefined ? undefined : Math.round(this.#score);
  }

  /** The new level when it changed (the first window with data always reports). */
  update(w: ConnectionWindow): { quality: ConnectionQuality; score: number } | undefined {
    if (w.packetsReceived === 0) {
      // Nothing arrived: 'lost', once something had arrived before.
      if (this.#quality === undefined || this.#quality === 'lost') return undefined;
      this.#quality = 'lost';
      this.#score = 0;
      return { quality: 'lost', score: 0 };
    }
    const raw = connectionScore(w);
    if (this.#score === undefined || this.#quality === 'lost') this.#score = raw;
    else this.#score += (raw - this.#score) * (raw < this.#score ? DECREASE_FACTOR : INCREASE_FACTOR);
    const score = this.#score;
    const target = levelOf(score);
    const current = this.#quality;
    let next: ConnectionQuality = target;
    if (current !== undefined && current !== 'lost' && target !== current) {
      // Up only past the target's floor by the margin; down only below the current floor by it.
      const up = RANK[target] > RANK[current];
      const clear = up ? score > FLOOR[target] + HYSTERESIS : score < FLOOR[current] - HYSTERESIS;
      if (!clear) next = current;
    }
    if (next === current) return undefined;
    this.#quality = next;
    return { quality: next, score: Math.round(score) };
  }
}

/**
 * Loss and jitter of one incoming RTP stream (RFC 3550 A.3, A.8), per window. Allocation-free per
 * packet. Reordered packets count as received; duplicates may hide a loss (as in RFC 3550).
 */
export class StreamReceiveStats {
  readonly clockRate: number;
  #started = false;
  #highestSeq = 0;
  /** Extended highest sequence number at the start of the window, and now. */
  #windowBaseExt = 0;
  #highestExt = 0;
  #received = 0;
  #transit = 0;
  #hasTransit = false;
  /** Interarrival jitter, in timestamp units (RFC 3550 A.8), as a float. */
  jitter = 0;

  constructor(clockRate: number) {
    this.clockRate = clockRate;
  }

  onPacket(seq: number, rtpTimestamp: number, arrivalMs: number): void {
    if (!this.#started) {
      this.#started = true;
      this.#highestSeq = seq;
      this.#highestExt = seq;
      this.#windowBaseExt = seq - 1;
    } else {
      const d = seqDiff(seq, this.#highestSeq);
      if (d > 0) {
        this.#highestExt += d;
        this.#highestSeq = seq;
      }
    }
    this.#received++;
    const transit = (arrivalMs * this.clockRate) / 1000 - rtpTimestamp;
    if (this.#hasTransit) {
      let delta = transit - this.#transit;
      // Timestamp wrap between two packets: bring the difference back into range.
      if (delta > 2 ** 31) delta -= 2 ** 32;
      else if (delta < -(2 ** 31)) delta += 2 ** 32;
      this.jitter += (Math.abs(delta) - this.jitter) / 16;
    }
    this.#transit = transit;
    this.#hasTransit = true;
  }

  get jitterMs(): number {
    return (this.jitter / this.clockRate) * 1000;
  }

  /** Packets expected and received since the last call; starts a new window. */
  takeWindow(out: { expected: number; received: number }): void {
    out.expected += Math.max(0, this.#highestExt - this.#windowBaseExt);
    out.received += this.#received;
    this.#windowBaseExt = this.#highestExt;
    this.#received = 0;
  }
}

/** The incoming streams of one publisher connection, by SSRC. */
export class PublisherReceiveStats {
  readonly #streams = new Map<number, StreamReceiveStats>();

  /**
   * `ssrc`: best as ssrcKey (above 2^31 an SSRC is a heap number, allocated per call), and so is
   * `rtpTimestamp` (only differences modulo 2^32 count).
   */
  onPacket(ssrc: number, seq: number, rtpTimestamp: number, clockRate: number, arrivalMs: number): void {
    let stream = this.#streams.get(ssrc);
    if (!stream) {
      stream = new StreamReceiveStats(clockRate);
      this.#streams.set(ssrc, stream);
    }
    stream.onPacket(seq, rtpTimestamp, arrivalMs);
  }

  /** Loss share and worst jitter of the window; starts a new one. */
  takeWindow(): { expected: number; received: number; lossRatio: number; jitterMs: number } {
    const counts = { expected: 0, received: 0 };
    let jitterMs = 0;
    for (const stream of this.#streams.values()) {
      const before = counts.received;
      stream.takeWindow(counts);
      // A stream that stopped (a paused simulcast layer) keeps its old jitter: leave it out.
      if (counts.received > before) jitterMs = Math.max(jitterMs, stream.jitterMs);
    }
    const lost = Math.max(0, counts.expected - counts.received);
    return { ...counts, lossRatio: counts.expected > 0 ? lost / counts.expected : 0, jitterMs };
  }
}

/** What a subscriber's receiver reports said in a window. */
export class SubscriberReportStats {
  #reports = 0;
  #fractionLostSum = 0;
  #jitterMs = 0;
  /** Latest round-trip time, ms (kept across windows). */
  rttMs: number | undefined;

  /** One report block about one of our streams: fraction lost (0–1), jitter (ms), RTT (ms) if known. */
  onReportBlock(fractionLost: number, jitterMs: number, rttMs: number | undefined): void {
    this.#reports++;
    this.#fractionLostSum += fractionLost;
    this.#jitterMs = Math.max(this.#jitterMs, jitterMs);
    if (rttMs !== undefined) this.rttMs = rttMs;
  }

  takeWindow(): { reports: number; lossRatio: number; jitterMs: number; rttMs: number | undefined } {
    const out = {
      reports: this.#reports,
      lossRatio: this.#reports > 0 ? this.#fractionLostSum / this.#reports : 0,
      jitterMs: this.#jitterMs,
      rttMs: this.rttMs,
    };
    this.#reports = 0;
    this.#fractionLostSum = 0;
    this.#jitterMs = 0;
    return out;
  }
}

const SENT_REPORTS = 16;

/**
 * Round-trip time from receiver reports (RFC 3550 §6.4.1): we remember when we sent each sender
 * report (by its compact NTP time, LSR); RTT = now − sent − DLSR. The NTP time in our reports is
 * the publisher's, so it is matched, never compared with our clock.
 */
export class RttEstimator {
  readonly #lsr = new Uint32Array(SENT_REPORTS);
  readonly #sentMs = new Float64Array(SENT_REPORTS);
  #next = 0;

  /** A sender report with this NTP time (Unix ms, as given to buildSenderReport) left at `nowMs`. */
  senderReportSent(ntpMs: number, nowMs: number): void {
    const { seconds, fraction } = ntpFromUnixMs(ntpMs);
    this.#lsr[this.#next] = compactNtp(seconds, fraction);
    this.#sentMs[this.#next] = nowMs;
    this.#next = (this.#next + 1) % SENT_REPORTS;
  }

  /** RTT in ms from a report block's LSR and DLSR (1/65536 s), or undefined when LSR is unknown. */
  rttMs(lastSr: number, delaySinceLastSr: number, nowMs: number): number | undefined {
    if (lastSr === 0) return undefined;
    // Newest first: the same NTP time may have been sent more than once.
    for (let i = 1; i <= SENT_REPORTS; i++) {
      const slot = (this.#next - i + SENT_REPORTS) % SENT_REPORTS;
      if (this.#lsr[slot] !== lastSr >>> 0 || this.#sentMs[slot] === 0) continue;
      return Math.max(0, nowMs - this.#sentMs[slot]! - (delaySinceLastSr / 65536) * 1000);
    }
    return undefined;
  }
}
