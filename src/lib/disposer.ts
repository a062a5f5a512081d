/**
 * Collects cleanup work (unsubscribe functions, timers, abort controllers) and runs it once.
 * Cleanups run in reverse order of registration; one that throws does not stop the others.
 */
export class Disposer {
  #cleanups: Array<() => void> = [];
  #disposed = false;

  get disposed(): boolean {
    return this.#disposed;
  }

  add(cleanup: () => void): void {
    if (this.#disposed) {
      cleanup();
      return;
    }
    this.#cleanups.push(cleanup);
  }

  timeout(fn: () => void, delayMs: number): void {
    const t = setTimeout(fn, delayMs);
    t.unref();
    this.add(() => clearTimeout(t));
  }

  interval(fn: () => void, periodMs: number): void {
    const t = setInterval(fn, periodMs);
    t.unref();
    this.add(() => clearInterval(t));
  }

  abortController(): AbortController {
    const c = new AbortController();
    this.add(() => c.abort());
    return c;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const cleanups = this.#cleanups.reverse();
    this.#cleanups = [];
    for (const cleanup of cleanups) {
      try {
        cleanup();
      } catch {
        // A failing cleanup must not leave the rest undone.
      }
    }
  }
}
