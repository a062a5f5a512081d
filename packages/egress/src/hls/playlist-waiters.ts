/**
 * Blocking playlist reload (8216bis 6.2.5.2): requests with `_HLS_msn`/`_HLS_part` wait until the
 * playlist holds that segment or part, or until a bounded time passed (then the current playlist is
 * answered). The track reports each playlist it published; waiters are released in order.
 */

export interface PublishedPosition {
  /** The segment being written (or the next one). */
  msn: number;
  /** Parts of it already in the published playlist. */
  parts: number;
  ended: boolean;
}

interface Waiter {
  msn: number;
  part: number | null;
  resolve: () => void;
  timer: NodeJS.Timeout;
}

export class PlaylistWaiters {
  private position: PublishedPosition = { msn: 0, parts: 0, ended: false };
  private waiters = new Set<Waiter>();

  /** Whether the published playlist holds segment `msn` (complete) or, with `part`, that part. */
  has(msn: number, part: number | null): boolean {
    const p = this.position;
    if (p.ended || msn < p.msn) return true;
    return part !== null && msn === p.msn && part < p.parts;
  }

  /** Resolves when `has(msn, part)` or after `timeoutMs`. */
  wait(msn: number, part: number | null, timeoutMs: number): Promise<void> {
    if (this.has(msn, part)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        msn,
        part,
        resolve: () => {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          resolve();
        },
        timer: setTimeout(() => waiter.resolve(), timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Called after each playlist write. */
  published(position: PublishedPosition): void {
    this.position = position;
    for (const w of [...this.waiters]) if (this.has(w.msn, w.part)) w.resolve();
  }

  /** Requests waiting now. */
  get pending(): number {
    return this.waiters.size;
  }

  get current(): PublishedPosition {
    return this.position;
  }

  /** Releases everyone (the stream ended or was torn down). */
  releaseAll(): void {
    for (const w of [...this.waiters]) w.resolve();
  }
}
