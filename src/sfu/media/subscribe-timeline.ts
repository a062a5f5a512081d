import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import { mediaCounting } from '../../lib/media-counters.ts';
import { mediaHistograms } from '../../lib/media-histograms.ts';

/** The steps from a subscription made to its first keyframe sent, in order. */
export const SUBSCRIBE_STEPS = ['answered', 'iceSelected', 'connected', 'firstRtp', 'firstKeyframe'] as const;
export type SubscribeStep = (typeof SUBSCRIBE_STEPS)[number];

/** Each step's histogram (media-histograms.ts). */
const HISTOGRAM_OF = {
  answered: 'subscribeAnswered',
  iceSelected: 'subscribeIceSelected',
  connected: 'subscribeConnected',
  firstRtp: 'subscribeFirstRtp',
  firstKeyframe: 'subscribeFirstKeyframe',
} as const;

/** Each step's bit in SubscribeTimeline's mask of marked steps. */
const BIT_OF = { answered: 1, iceSelected: 2, connected: 4, firstRtp: 8, firstKeyframe: 16 } as const;

/**
 * Where the time goes between a subscription being made (the server's offer, or the viewer's
 * offer answered) and its first keyframe sent: the subscriber's answer applied, ICE selected a
 * pair, DTLS done (SRTP keys: transport connected), the first RTP packet sent, the first keyframe
 * packet sent. Each step is the time since the subscription was made, marked once. When the
 * first keyframe is sent, one log line gives every step, and each step is observed in its
 * `bbmeet_media_subscribe_*_seconds` histogram.
 *
 * Lifecycle: one per Subscription; done at the first keyframe (a subscription without video
 * never completes it and reports nothing).
 */
export class SubscribeTimeline {
  readonly #clock: Clock;
  readonly #createdMs: number;
  readonly #log: Logger | undefined;
  readonly #ms: Partial<Record<SubscribeStep, number>> = {};
  /**
   * The steps marked, one bit each (BIT_OF): `has` runs for every packet sent, where reading
   * `#ms[step]` was a megamorphic load (the objects of the timelines, each at its own step, have as
   * many shapes as there are steps, more than V8 keeps inline) on one more object per packet.
   */
  #marked = 0;
  /** How the video started when the transport connected (DownTrack.start). */
  start: string | undefined;
  #done = false;

  constructor(options: { clock: Clock; logger?: Logger | undefined }) {
    this.#clock = options.clock;
    this.#createdMs = options.clock.nowMs();
    this.#log = options.logger;
  }

  /** `step` happened now (ignored after the first time). */
  mark(step: SubscribeStep): void {
    if ((this.#marked & BIT_OF[step]) !== 0 || this.#done) return;
    this.#marked |= BIT_OF[step];
    this.#ms[step] = this.#clock.nowMs() - this.#createdMs;
    if (step === 'firstKeyframe') this.#complete();
  }

  has(step: SubscribeStep): boolean {
    return (this.#marked & BIT_OF[step]) !== 0;
  }

  /** Milliseconds from the subscription made to each step marked so far. */
  get stepsMs(): Readonly<Partial<Record<SubscribeStep, number>>> {
    return this.#ms;
  }

  #complete(): void {
    this.#done = true;
    if (mediaCounting.on)
      for (const step of SUBSCRIBE_STEPS) {
        const ms = this.#ms[step];
        if (ms !== undefined) mediaHistograms[HISTOGRAM_OF[step]].observe(ms / 1000);
      }
    this.#log?.debug({ ...this.#ms, start: this.start }, 'subscription first keyframe sent');
  }
}
