/** Packets sent within this span of a group's first packet form one group (a burst, one frame). */
const GROUP_SPAN_MS = 5;

/** The deltas between two consecutive packet groups (draft-ietf-rmcat-gcc-02 §5.1). */
export interface GroupDelta {
  /** Send time of the last packet of this group minus that of the previous group, ms. */
  sendDeltaMs: number;
  /** Arrival of the last packet of this group minus that of the previous group, ms. */
  arrivalDeltaMs: number;
  /** Arrival of the last packet of this group, ms on the receiver's clock. */
  arrivalMs: number;
}

interface Group {
  firstSendMs: number;
  lastSendMs: number;
  lastArrivalMs: number;
}

/**
 * Groups acknowledged packets by send time and yields the inter-group delay variation inputs
 * d(i) = t(i) − t(i−1) − (T(i) − T(i−1)) of draft-ietf-rmcat-gcc-02 §5.1, as libwebrtc's
 * InterArrival does. Feed packets in send order; a packet sent before the current group started
 * (reordered in the feedback) is ignored.
 */
export class InterArrival {
  #current: Group | undefined;
  #previous: Group | undefined;
  readonly #delta: GroupDelta = { sendDeltaMs: 0, arrivalDeltaMs: 0, arrivalMs: 0 };

  /** Adds one received packet; returns the deltas when it closed a group (reused object), else undefined. */
  add(sendMs: number, arrivalMs: number): GroupDelta | undefined {
    const current = this.#current;
    if (!current) {
      this.#current = { firstSendMs: sendMs, lastSendMs: sendMs, lastArrivalMs: arrivalMs };
      return undefined;
    }
    if (sendMs < current.firstSendMs) return undefined;
    if (sendMs - current.firstSendMs <= GROUP_SPAN_MS) {
      current.lastSendMs = Math.max(current.lastSendMs, sendMs);
      current.lastArrivalMs = Math.max(current.lastArrivalMs, arrivalMs);
      return undefined;
    }
    const previous = this.#previous;
    this.#previous = current;
    this.#current = { firstSendMs: sendMs, lastSendMs: sendMs, lastArrivalMs: arrivalMs };
    if (!previous) return undefined;
    this.#delta.sendDeltaMs = current.lastSendMs - previous.lastSendMs;
    this.#delta.arrivalDeltaMs = current.lastArrivalMs - previous.lastArrivalMs;
    this.#delta.arrivalMs = current.lastArrivalMs;
    return this.#delta;
  }

  reset(): void {
    this.#current = undefined;
    this.#previous = undefined;
  }
}
