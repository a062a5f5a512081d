// The media worker's clock: whole milliseconds (performance.now(), monotonic) from 1,000 s before
// the thread started. The forwarding path reads the time several times per packet and passes it
// on, and a reading of Date.now() (about 1.8e12) is a heap number to V8, allocated each time; a
// count of milliseconds below 2^31 (24.8 days) is a small integer, which costs nothing. A worker
// running longer than that reads heap numbers again: right, only no longer free.
import { type Clock, systemClock } from '../../lib/clock.ts';

/**
 * Where the count starts: as the tests' ManualClock does, far enough from 0 that "never" kept as
 * 0 or -1 is long ago from the first reading on.
 */
const ORIGIN_MS = 1_000_000;

/** The media engine's time: durations only (nothing compares it with wall-clock time). */
export const mediaClock: Clock = {
  nowMs: () => ORIGIN_MS + Math.floor(performance.now()),
  setTimeout: systemClock.setTimeout,
  setInterval: systemClock.setInterval,
};
