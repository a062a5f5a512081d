import { EventEmitter } from 'node:events';

export type EventMap = Record<string, unknown[]>;

/**
 * Typed event emitter. `safeEmit` isolates listener exceptions so that an application bug in a
 * listener cannot break the caller (the media path, a socket handler); they are reported through
 * `listenerError` instead.
 */
export class TypedEmitter<E extends EventMap> {
  readonly #emitter = new EventEmitter();

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): () => void {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return () => this.#emitter.off(event, listener as (...args: unknown[]) => void);
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): () => void {
    this.#emitter.once(event, listener as (...args: unknown[]) => void);
    return () => this.#emitter.off(event, listener as (...args: unknown[]) => void);
  }

  /** Calls every listener; returns false if one threw (the error goes to `onListenerError`). */
  safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    let ok = true;
    for (const listener of this.#emitter.listeners(event)) {
      try {
        (listener as (...a: E[K]) => void)(...args);
      } catch (err) {
        ok = false;
        this.onListenerError(event, err);
      }
    }
    return ok;
  }

  listenerCount(event: keyof E & string): number {
    return this.#emitter.listenerCount(event);
  }

  removeAllListeners(): void {
    this.#emitter.removeAllListeners();
  }

  /** Override to log through the owner's logger; by default a process warning is emitted. */
  protected onListenerError(event: string, err: unknown): void {
    process.emitWarning(`listener for '${event}' threw: ${err instanceof Error ? err.stack : String(err)}`);
  }
}
