import { timestampDiff } from '../../../../src/rtp/seq.ts';

/**
 * RTP timestamps → microseconds on one egress's timeline, shared by its tracks (of one publisher
 * or of several in a room egress). Each track maps its RTP clock to a wall clock: through its
 * publisher's sender reports (NTP ↔ RTP) once it has one, before that through the arrival time of
 * its first packet. A publisher's NTP clock is tied to the local clock once, at the first sender
 * report of any of its tracks (where that track's arrival mapping puts it), so its tracks stay
 * aligned with each other as their reports come in; each publisher has its own NTP clock.
 * ptsUs 0 is the egress's first frame; each track's pts only increases.
 */
export class Timeline {
  /** Local ms of the egress's first frame (pts 0), NaN before it. */
  #originMs = Number.NaN;
  readonly #now: () => number;
  #default: PublisherClock | undefined;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The clocks of one publisher's tracks (their sender reports share one NTP clock). */
  publisher(): PublisherClock {
    return new PublisherClock(this);
  }

  /** A track of the timeline's first publisher. */
  track(clockRate: number): TrackClock {
    this.#default ??= this.publisher();
    return this.#default.track(clockRate);
  }

  /** @internal pts of a local time, the first one becoming 0. */
  ptsUs(localMs: number): number {
    if (Number.isNaN(this.#originMs)) this.#originMs = localMs;
    return Math.round((localMs - this.#originMs) * 1000);
  }

  now(): number {
    return this.#now();
  }
}

export class PublisherClock {
  readonly timeline: Timeline;
  /** local ms − the publisher's NTP ms, NaN before its first sender report. */
  #ntpToLocalMs = Number.NaN;

  constructor(timeline: Timeline) {
    this.timeline = timeline;
  }

  track(clockRate: number): TrackClock {
    return new TrackClock(this, clockRate);
  }

  /** @internal the NTP → local offset, fixed at the first call. */
  ntpOffset(localMs: number, ntpMs: number): number {
    if (Number.isNaN(this.#ntpToLocalMs)) this.#ntpToLocalMs = localMs - ntpMs;
    return this.#ntpToLocalMs;
  }
}

export class TrackClock {
  readonly #publisher: PublisherClock;
  readonly #timeline: Timeline;
  readonly #msPerTick: number;
  /** Reference RTP timestamp and its local ms (from the first packet, then from each report). */
  #refTs = 0;
  #refLocalMs = Number.NaN;
  #fromReport = false;
  #lastPtsUs = -1;

  constructor(publisher: PublisherClock, clockRate: number) {
    this.#publisher = publisher;
    this.#timeline = publisher.timeline;
    this.#msPerTick = 1000 / clockRate;
  }

  /** The publisher's sender report of this track's stream, received at `receivedMs` (local). */
  senderReport(ntpMs: number, rtpTimestamp: number, receivedMs = this.#timeline.now()): void {
    // Why: before any packet, the report arrived about when its timestamp was sampled.
    const localMs = Number.isNaN(this.#refLocalMs) ? receivedMs : this.#localMs(rtpTimestamp);
    const offset = this.#publisher.ntpOffset(localMs, ntpMs);
    this.#refTs = rtpTimestamp >>> 0;
    this.#refLocalMs = ntpMs + offset;
    this.#fromReport = true;
  }

  get synced(): boolean {
    return this.#fromReport;
  }

  /** The pts of a frame of this track (its RTP timestamp), arriving at `arrivalMs` (local). */
  ptsUs(rtpTimestamp: number, arrivalMs = this.#timeline.now()): number {
    if (Number.isNaN(this.#refLocalMs)) {
      this.#refTs = rtpTimestamp >>> 0;
      this.#refLocalMs = arrivalMs;
    }
    const localMs = this.#localMs(rtpTimestamp);
    // Why: moving the reference along keeps the 32-bit timestamp difference far from wrapping.
    this.#refTs = rtpTimestamp >>> 0;
    this.#refLocalMs = localMs;
    const pts = Math.max(0, this.#timeline.ptsUs(localMs));
    // Why: a new report can move the mapping back a little; a track's frames never go backwards.
    this.#lastPtsUs = pts > this.#lastPtsUs ? pts : this.#lastPtsUs + 1;
    return this.#lastPtsUs;
  }

  #localMs(rtpTimestamp: number): number {
    return this.#refLocalMs + timestampDiff(rtpTimestamp >>> 0, this.#refTs) * this.#msPerTick;
  }
}
