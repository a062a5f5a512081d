import type { Clock } from '../lib/clock.ts';

/**
 * Turns keyframe requests (a subscriber's PLI/FIR, a new subscriber, a layer switch) into at most
 * one request to the publisher per stream per `minIntervalMs` (as mediasoup's
 * KeyFrameRequestManager). A request that arrives inside the interval is remembered and sent when
 * it ends, unless a keyframe arrived meanwhile.
 *
 * Lifecycle: created with its UpTrack; `close()` cancels any pending request.
 */
export class KeyframeRequester {
  readonly #clock: Clock;
  readonly #minIntervalMs: number;
  readonly #send: (ssrc: number) => void;
  readonly #lastSentMs = new Map<number, number>();
  readonly #pending = new Map<number, () => void>();
  #closed = false;

  constructor(options: { clock: Clock; minIntervalMs?: number; send: (ssrc: number) => void }) {
    this.#clock = options.clock;
    this.#minIntervalMs = options.minIntervalMs ?? 500;
    this.#send = options.send;
  }

  request(ssrc: number): void {
    if (this.#closed || this.#pending.has(ssrc)) return;
    const now = this.#clock.nowMs();
    const last = this.#lastSentMs.get(ssrc);
    if (last === undefined || now - last >= this.#minIntervalMs) {
      this.#sendNow(ssrc, now);
      return;
    }
    const cancel = this.#clock.setTimeout(
      () => {
        this.#pending.delete(ssrc);
        this.#sendNow(ssrc, this.#clock.nowMs());
      },
      this.#minIntervalMs - (now - last),
    );
    this.#pending.set(ssrc, cancel);
  }

  /** A keyframe arrived on `ssrc`: a pending request is no longer needed. */
  keyframeReceived(ssrc: number): void {
    this.#pending.get(ssrc)?.();
    this.#pending.delete(ssrc);
  }

  close(): void {
    this.#closed = true;
    for (const cancel of this.#pending.values()) cancel();
    this.#pending.clear();
  }

  #sendNow(ssrc: number, now: number): void {
    this.#lastSentMs.set(ssrc, now);
    this.#send(ssrc);
  }
}
