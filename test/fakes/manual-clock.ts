import type { Clock } from '../../src/lib/clock.ts';

/** A clock that moves only when told (`advance`), running due timers in order. */
export class ManualClock implements Clock {
  #nowMs: number;
  #timers: Array<{ atMs: number; fn: () => void; periodMs?: number; id: number }> = [];
  #nextId = 0;

  constructor(startMs = 1_000_000) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  setTimeout(fn: () => void, delayMs: number): () => void {
    const id = ++this.#nextId;
    this.#timers.push({ atMs: this.#nowMs + delayMs, fn, id });
    return () => this.#cancel(id);
  }

  setInterval(fn: () => void, periodMs: number): () => void {
    const id = ++this.#nextId;
    this.#timers.push({ atMs: this.#nowMs + periodMs, fn, periodMs, id });
    return () => this.#cancel(id);
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }

  advance(ms: number): void {
    const end = this.#nowMs + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.atMs - b.atMs);
      const next = this.#timers[0];
      if (!next || next.atMs > end) break;
      this.#nowMs = next.atMs;
      if (next.periodMs === undefined) this.#timers.shift();
      else next.atMs += next.periodMs;
      next.fn();
    }
    this.#nowMs = end;
  }

  #cancel(id: number): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }
}
