/** A cluster is judged only with this many of its packets acknowledged as received. */
const MIN_RECEIVED_PACKETS = 5;
const MIN_RECEIVED_FRACTION = 0.8;
/** A receive rate below this fraction of the send rate means the link was saturated: it is the capacity. */
const SATURATED_RATIO = 0.9;
const SATURATED_BACKOFF = 0.95;
/** A send or receive span shorter than this measures nothing. */
const MIN_SPAN_MS = 10;

interface Cluster {
  id: number;
  sentPackets: number;
  sentBytes: number;
  firstSendMs: number;
  lastSendMs: number;
  lastSentBytes: number;
  /** Packets of the cluster that feedback reported, received or not. */
  reported: number;
  received: number;
  receivedBytes: number;
  firstArrivalMs: number;
  firstArrivalBytes: number;
  lastArrivalMs: number;
  ended: boolean;
}

/** What one probe cluster showed. */
export interface ProbeResult {
  clusterId: number;
  /** What the path demonstrably carried, bps: min(send rate, receive rate), backed off when saturated. */
  bitrateBps: number;
  sendBps: number;
  receiveBps: number;
  /** The receive rate fell short of the send rate: the result is the link's capacity, not a lower bound. */
  saturated: boolean;
}

/**
 * Measures bandwidth probes (libwebrtc's ProbeBitrateEstimator, simplified): every packet sent
 * while a probe runs, media and padding alike, belongs to its cluster; once transport-cc feedback
 * has reported the whole cluster, the rate it left at and the rate it arrived at give what the path
 * carries. A short burst above the estimate measures the path without filling its queue for long.
 *
 * Pure: times come in the arguments. Lifecycle: one per SendSideEstimator.
 */
export class ProbeBitrateEstimator {
  readonly #clusters = new Map<number, Cluster>();
  #result: ProbeResult | undefined;

  /** A packet of cluster `id` left at `sendMs`. */
  onSent(id: number, bytes: number, sendMs: number): void {
    let c = this.#clusters.get(id);
    if (!c) {
      // Only the running cluster and perhaps the one before it are of interest.
      if (this.#clusters.size >= 4) this.#clusters.delete(this.#clusters.keys().next().value!);
      c = {
        id,
        sentPackets: 0,
        sentBytes: 0,
        firstSendMs: sendMs,
        lastSendMs: sendMs,
        lastSentBytes: 0,
        reported: 0,
        received: 0,
        receivedBytes: 0,
        firstArrivalMs: Number.POSITIVE_INFINITY,
        firstArrivalBytes: 0,
        lastArrivalMs: Number.NEGATIVE_INFINITY,
        ended: false,
      };
      this.#clusters.set(id, c);
    }
    c.sentPackets++;
    c.sentBytes += bytes;
    c.lastSendMs = sendMs;
    c.lastSentBytes = bytes;
  }

  /** The probe stopped sending: the cluster is judged once feedback covers it. */
  end(id: number): void {
    const c = this.#clusters.get(id);
    if (!c) return;
    c.ended = true;
    this.#judgeIfComplete(c);
  }

  /** Feedback on one packet of cluster `id`: arrived at `arrivalMs`, or lost (undefined). */
  onFeedback(id: number, bytes: number, arrivalMs: number | undefined): void {
    const c = this.#clusters.get(id);
    if (!c) return;
    c.reported++;
    if (arrivalMs !== undefined) {
      c.received++;
      c.receivedBytes += bytes;
      if (arrivalMs < c.firstArrivalMs) {
        c.firstArrivalMs = arrivalMs;
        c.firstArrivalBytes = bytes;
      }
      if (arrivalMs > c.lastArrivalMs) c.lastArrivalMs = arrivalMs;
    }
    this.#judgeIfComplete(c);
  }

  /** The result of the last cluster judged, once; undefined when none is new. */
  takeResult(): ProbeResult | undefined {
    const r = this.#result;
    this.#result = undefined;
    return r;
  }

  /** Judges a cluster now with whatever feedback came (the caller's timeout); undefined when it shows nothing. */
  judge(id: number): ProbeResult | undefined {
    const c = this.#clusters.get(id);
    if (!c) return undefined;
    this.#clusters.delete(id);
    return measure(c);
  }

  #judgeIfComplete(c: Cluster): void {
    if (!c.ended || c.reported < c.sentPackets) return;
    this.#clusters.delete(c.id);
    const result = measure(c);
    if (result) this.#result = result;
  }
}

function measure(c: Cluster): ProbeResult | undefined {
  if (c.received < MIN_RECEIVED_PACKETS || c.received < MIN_RECEIVED_FRACTION * c.sentPackets) {
    // Most of the burst was lost: the path does not carry its rate. Whatever arrived is an upper bound.
    if (c.received < 2 || c.lastArrivalMs - c.firstArrivalMs < MIN_SPAN_MS) return undefined;
    const receiveBps =
      ((c.receivedBytes - c.firstArrivalBytes) * 8000) / (c.lastArrivalMs - c.firstArrivalMs);
    return {
      clusterId: c.id,
      bitrateBps: receiveBps * SATURATED_BACKOFF,
      sendBps: Number.NaN,
      receiveBps,
      saturated: true,
    };
  }
  const sendSpan = c.lastSendMs - c.firstSendMs;
  const receiveSpan = c.lastArrivalMs - c.firstArrivalMs;
  if (sendSpan < MIN_SPAN_MS || receiveSpan < MIN_SPAN_MS) return undefined;
  // n packets span n − 1 intervals: the last one sent and the first one received open or close them.
  const sendBps = ((c.sentBytes - c.lastSentBytes) * 8000) / sendSpan;
  const receiveBps = ((c.receivedBytes - c.firstArrivalBytes) * 8000) / receiveSpan;
  const saturated = receiveBps < SATURATED_RATIO * sendBps;
  return {
    clusterId: c.id,
    bitrateBps: saturated ? receiveBps * SATURATED_BACKOFF : Math.min(sendBps, receiveBps),
    sendBps,
    receiveBps,
    saturated,
  };
}
