/**
 * The work a shutdown must wait for: the leave flows started by sockets closing (each writes the
 * participant's row and tells the room). `settled()` resolves when all tracked work is done, or
 * at the deadline with the number still running.
 */
export class ShutdownTracker {
  closing = false;
  readonly #pending = new Set<Promise<unknown>>();

  /** Keeps `work` until it settles (its errors are its owner's to handle). */
  track(work: Promise<unknown>): void {
    this.#pending.add(work);
    const forget = () => this.#pending.delete(work);
    // Both paths forget it; a rejection is not handled here, only observed.
    work.then(forget, forget);
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Waits for the tracked work, including work tracked while waiting; returns how many remain. */
  async settled(deadlineMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    try {
      while (this.#pending.size > 0) {
        const outcome = await Promise.race([Promise.allSettled([...this.#pending]), deadline]);
        if (outcome === 'deadline') break;
      }
    } finally {
      clearTimeout(timer);
    }
    return this.#pending.size;
  }
}
