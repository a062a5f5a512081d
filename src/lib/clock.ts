/** Injected time source, so timing logic can be tested with a manual clock. */
export interface Clock {
  nowMs(): number;
  setTimeout(fn: () => void, delayMs: number): () => void;
  setInterval(fn: () => void, periodMs: number): () => void;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  setTimeout(fn, delayMs) {
    const t = setTimeout(fn, delayMs);
    return () => clearTimeout(t);
  },
  setInterval(fn, periodMs) {
    const t = setInterval(fn, periodMs);
    return () => clearInterval(t);
  },
};
