import type { ParticipantId } from '../../lib/ids.ts';

/**
 * Active speakers of a room from the publishers' audio levels (RFC 6464
 * `urn:ietf:params:rtp-hdrext:ssrc-audio-level`: 0 = 0 dBov, the loudest, … 127 = silence).
 *
 * The scheme is LiveKit's audio level (livekit/livekit `pkg/sfu/audio/audiolevel.go`): per
 * observation window (here `intervalMs`, 400 ms like LiveKit's `update_interval`) a participant is
 * active when at least `minActiveRatio` of its packets are at or above `activeLevel`; its window
 * level is the loudest active packet, attenuated by the share of the window that was active
 * (`20·log10(ratio)` dB), as a linear value 10^(-dBov/20) in 0–1; window levels are smoothed by an
 * exponential moving average over `smoothIntervals` windows (≈1.2–1.6 s). Unlike LiveKit, a quiet
 * window feeds 0 into the average instead of zeroing it, and speaking is a state with hysteresis,
 * as Jitsi's dominant speaker identification keeps a speaker until another one clearly wins
 * (jitsi/jitsi-utils `DominantSpeakerIdentification`, after Volfin & Cohen 2013): a participant
 * starts speaking when its smoothed level reaches `enterLevel`, and stops when it falls below
 * `exitLevel` (6 dB lower) or has had no active window for `releaseMs`. The list is ordered by
 * smoothed level, the current order being kept unless a later speaker is 20 % louder, and it is
 * reported only when it changes, at most once per `minEmitIntervalMs`.
 *
 * Per packet work (`AudioLevelMeter.observe`) is three comparisons and counters: no allocation.
 */

export interface ActiveSpeakerOptions {
  /** A packet at or above this loudness (dBov, 0–127, lower is louder) counts as voice. Default 45. */
  activeLevel?: number;
  /**
   * Share of a window's packets that must be voice for the window to count. Default 0.2 (LiveKit:
   * 40 %), so that speech with short pauses counts, and Chromium's fake microphone (a beep about
   * 30 % of the time) too.
   */
  minActiveRatio?: number;
  /** Observation window and evaluation period. Default 400 ms. */
  intervalMs?: number;
  /** Windows in the moving average (EMA factor 2/(n+1)). Default 3. */
  smoothIntervals?: number;
  /** A speaker with no active window for this long stops speaking. Default 1200 ms. */
  releaseMs?: number;
  /** Minimum time between two reported changes. Default 400 ms (≤ 2.5 per second). */
  minEmitIntervalMs?: number;
}

export interface ActiveSpeaker {
  participantId: ParticipantId;
  /** Smoothed linear level, 0–1 (1 = 0 dBov). */
  level: number;
}

const SILENCE = 127;

/** Counts one participant's audio packets of the current window. */
export class AudioLevelMeter {
  packets = 0;
  activePackets = 0;
  /** Loudest active level of the window, dBov (127 when none). */
  loudest = SILENCE;
  readonly #activeLevel: number;

  constructor(activeLevel = 45) {
    this.#activeLevel = activeLevel;
  }

  /** One audio packet's level, 0 (loudest) – 127 (silence), as the extension's low 7 bits. */
  observe(level: number): void {
    this.packets++;
    if (level <= this.#activeLevel) {
      this.activePackets++;
      if (level < this.loudest) this.loudest = level;
    }
  }

  /** Ends the window: its counters start again. */
  reset(): void {
    this.packets = 0;
    this.activePackets = 0;
    this.loudest = SILENCE;
  }
}

/** A linear level (0–1) from dBov. */
export function dbovToLinear(dbov: number): number {
  return 10 ** (-dbov / 20);
}

interface SpeakerState {
  smoothed: number;
  speaking: boolean;
  lastActiveMs: number;
  seen: boolean;
}

/** The speaker state of one room; the owner calls `evaluate` every `intervalMs`. */
export class ActiveSpeakerDetector {
  readonly intervalMs: number;
  readonly #activeLevel: number;
  readonly #minActiveRatio: number;
  readonly #alpha: number;
  readonly #enterLevel: number;
  readonly #exitLevel: number;
  readonly #releaseMs: number;
  readonly #minEmitIntervalMs: number;
  readonly #states = new Map<ParticipantId, SpeakerState>();
  #reported: ActiveSpeaker[] = [];
  #reportedAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: ActiveSpeakerOptions = {}) {
    this.#activeLevel = options.activeLevel ?? 45;
    this.#minActiveRatio = options.minActiveRatio ?? 0.2;
    this.intervalMs = options.intervalMs ?? 400;
    this.#alpha = 2 / ((options.smoothIntervals ?? 3) + 1);
    // A window exactly at the threshold, fully active, reaches the enter level after ~2 windows.
    this.#enterLevel = dbovToLinear(this.#activeLevel) / 2;
    this.#exitLevel = this.#enterLevel / 2;
    this.#releaseMs = options.releaseMs ?? 1200;
    this.#minEmitIntervalMs = options.minEmitIntervalMs ?? 400;
  }

  /** A meter for a publisher's audio packets, using this detector's voice threshold. */
  createMeter(): AudioLevelMeter {
    return new AudioLevelMeter(this.#activeLevel);
  }

  /** The list last reported. */
  get speakers(): readonly ActiveSpeaker[] {
    return this.#reported;
  }

  /**
   * Closes the window of every meter (participants not listed are forgotten) and returns the new
   * speaker list when it changed and the last report is at least `minEmitIntervalMs` old.
   */
  evaluate(meters: Iterable<[ParticipantId, AudioLevelMeter]>, nowMs: number): ActiveSpeaker[] | undefined {
    for (const state of this.#states.values()) state.seen = false;
    for (const [id, meter] of meters) {
      let state = this.#states.get(id);
      if (!state) {
        state = { smoothed: 0, speaking: false, lastActiveMs: Number.NEGATIVE_INFINITY, seen: true };
        this.#states.set(id, state);
      }
      state.seen = true;
      this.#observeWindow(state, meter, nowMs);
      meter.reset();
    }
    for (const [id, state] of this.#states) if (!state.seen) this.#states.delete(id);
    const next = this.#ranked();
    if (sameOrder(next, this.#reported) || nowMs - this.#reportedAtMs < this.#minEmitIntervalMs)
      return undefined;
    this.#reported = next;
    this.#reportedAtMs = nowMs;
    return next;
  }

  #observeWindow(state: SpeakerState, meter: AudioLevelMeter, nowMs: number): void {
    const ratio = meter.packets > 0 ? meter.activePackets / meter.packets : 0;
    let level = 0;
    const active = ratio >= this.#minActiveRatio;
    if (active) {
      // LiveKit: the loudest level, weighted by how much of the window was active.
      level = dbovToLinear(meter.loudest - 20 * Math.log10(ratio));
      state.lastActiveMs = nowMs;
    }
    state.smoothed += (level - state.smoothed) * this.#alpha;
    if (!state.speaking) {
      state.speaking = active && state.smoothed >= this.#enterLevel;
    } else if (nowMs - state.lastActiveMs > this.#releaseMs) {
      // Silent for the release time: start again from nothing (no echo of the old average).
      state.speaking = false;
      state.smoothed = 0;
    } else if (state.smoothed < this.#exitLevel) {
      state.speaking = false;
    }
  }

  /**
   * Speakers by smoothed level. Those already reported keep their order unless the one behind is
   * 20 % louder (adjacent swaps); newcomers go in by level.
   */
  #ranked(): ActiveSpeaker[] {
    const level = (id: ParticipantId) => this.#states.get(id)!.smoothed;
    const speaking = (id: ParticipantId) => this.#states.get(id)?.speaking === true;
    const order = this.#reported.map((s) => s.participantId).filter(speaking);
    for (let pass = 0; pass < order.length; pass++) {
      for (let i = 0; i + 1 < order.length; i++) {
        if (level(order[i + 1]!) > level(order[i]!) * 1.2)
          [order[i], order[i + 1]] = [order[i + 1]!, order[i]!];
      }
    }
    for (const [id, state] of this.#states) {
      if (!state.speaking || order.includes(id)) continue;
      const at = order.findIndex((other) => state.smoothed > level(other));
      order.splice(at < 0 ? order.length : at, 0, id);
    }
    return order.map((participantId) => ({ participantId, level: round3(level(participantId)) }));
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function sameOrder(a: readonly ActiveSpeaker[], b: readonly ActiveSpeaker[]): boolean {
  return a.length === b.length && a.every((s, i) => s.participantId === b[i]!.participantId);
}
