import type { SfuApi, SfuEvent } from '../../src/protocol/sfu-api.ts';

/**
 * The room events of a scripted SfuApi: `events` streams what the test `push`es for a room (what
 * a media worker would report), until the stream's signal aborts. Spread into the scripted SfuApi.
 */
export function pushedEvents(): Pick<SfuApi, 'events'> & { push(roomId: string, event: SfuEvent): void } {
  const listeners = new Map<string, (e: SfuEvent) => void>();
  return {
    async *events(roomId, signal) {
      const queue: SfuEvent[] = [];
      let wake: (() => void) | undefined;
      listeners.set(roomId, (e) => {
        queue.push(e);
        wake?.();
      });
      signal.addEventListener('abort', () => wake?.(), { once: true });
      while (!signal.aborted) {
        const e = queue.shift();
        if (e) yield e;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    push(roomId, event) {
      listeners.get(roomId)?.(event);
    },
  };
}
