import type { Clock } from '../../lib/clock.ts';
import { Dynacast } from '../qos/dynacast.ts';

/** Waterbus quality words: 0 pause, 1 low (`q`), 2 medium (`h`), 3 high (`f`). */
export type WaterbusQuality = 0 | 1 | 2 | 3;

/**
 * What the subscribers of one video track want of it: the highest spatial layer each may want,
 * fed to the track's Dynacast, and the quality and subscriber count told to its owner (the
 * Publisher, for `track_quality`) when either changes.
 *
 * Lifecycle: one per video UpTrack, closed with it.
 */
export class TrackWishes {
  /** Which spatial layers any subscriber may want. */
  readonly dynacast: Dynacast;
  readonly #wishes = new Map<string, number>();
  readonly #onLayersWanted: ((quality: WaterbusQuality, subscribedCount: number) => void) | undefined;
  #lastWanted = '';

  constructor(options: {
    clock: Clock;
    layerCount: number;
    /** Dynacast asked the publisher to stop some spatial layers (false) or send them (true). */
    onLayersActive: (active: readonly boolean[]) => void;
    onLayersWanted: ((quality: WaterbusQuality, subscribedCount: number) => void) | undefined;
  }) {
    this.#onLayersWanted = options.onLayersWanted;
    this.dynacast = new Dynacast({
      clock: options.clock,
      layerCount: options.layerCount,
      onLayersChanged: (active) => {
        options.onLayersActive(active);
        this.#reportWanted();
      },
    });
  }

  /** The highest spatial layer `subscriberId` may want (its `preferred`), -1 when it paused it. */
  set(subscriberId: string, spatial: number): void {
    this.#wishes.set(subscriberId, spatial);
    this.dynacast.setSubscriberMaxLayer(subscriberId, spatial);
    this.#reportWanted();
  }

  remove(subscriberId: string): void {
    if (!this.#wishes.delete(subscriberId)) return;
    this.dynacast.removeSubscriber(subscriberId);
    this.#reportWanted();
  }

  /** Subscribers that want some layer of this track. */
  get subscribedCount(): number {
    let n = 0;
    for (const s of this.#wishes.values()) if (s >= 0) n++;
    return n;
  }

  /** Waterbus quality of what Dynacast asks the publisher to send: highest active layer + 1, 0 for none. */
  get wantedQuality(): WaterbusQuality {
    let top = -1;
    this.dynacast.activeLayers.forEach((on, i) => {
      if (on) top = i;
    });
    return Math.min(3, top + 1) as WaterbusQuality;
  }

  close(): void {
    this.dynacast.close();
  }

  /** Tells the owner when the quality or the subscriber count changed. */
  #reportWanted(): void {
    const quality = this.wantedQuality;
    const count = this.subscribedCount;
    const key = `${quality}/${count}`;
    if (key === this.#lastWanted) return;
    this.#lastWanted = key;
    this.#onLayersWanted?.(quality, count);
  }
}
