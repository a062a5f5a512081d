import type { ParticipantId } from '../../lib/ids.ts';
import { offeredTrackId } from './backup-codecs.ts';
import type { DownTrack } from './down-track.ts';
import { qualityToLayer } from './subscription-allocation.ts';
import type { UpTrack } from './up-track.ts';

/**
 * What one subscriber wants of one connection's DownTracks (Subscription, keyed by mid): the
 * publisher they forward and each video track's preferred layer, mirrored as the subscriber's
 * Dynacast wish on the UpTrack forwarded. The Subscription reallocates after each change.
 */

/** A DownTrack moving to another publisher's track, with that publisher's extension ids. */
export interface SourceSwitch {
  down: DownTrack;
  up: UpTrack;
  extensionIds: Uint8Array;
  absSendTimeId: number;
}

/**
 * Each DownTrack of `sources` forwards its new UpTrack from now on (DownTrack.switchSource),
 * re-keyed by the new mid; the subscriber's Dynacast wish moves with it.
 */
export function switchSources(
  subscriberId: ParticipantId,
  downTracks: Map<string, DownTrack>,
  sources: readonly SourceSwitch[],
): void {
  // Keyed by mid, and mids of two publishers overlap: every old key goes before a new one is set.
  for (const { down } of sources) {
    down.upTrack.removeSubscriberWish(subscriberId);
    downTracks.delete(down.upTrack.mid);
  }
  for (const { down, up, ...mapping } of sources) {
    down.switchSource(up, mapping);
    downTracks.set(up.mid, down);
    if (down.preferred) up.setSubscriberWish(subscriberId, down.preferred.spatial);
  }
}

/**
 * The subscriber's Waterbus `track_quality` for the publisher's track `publisherTrackId` (0 pause,
 * 1 low, 2 medium, 3 high): the DownTracks forwarding it prefer that layer, and their UpTracks'
 * Dynacast hears it. False when no such video track is among `downTracks`.
 */
export function preferQuality(
  subscriberId: ParticipantId,
  downTracks: Iterable<DownTrack>,
  publisherTrackId: string,
  quality: 0 | 1 | 2 | 3,
): boolean {
  let found = false;
  for (const down of downTracks) {
    // A backup is known to the subscriber by its primary's id (backup-codecs.ts).
    if (offeredTrackId(down.upTrack) !== publisherTrackId || down.kind !== 'video') continue;
    const layer = qualityToLayer(quality);
    down.setPreferred(layer);
    down.upTrack.setSubscriberWish(subscriberId, layer.spatial);
    found = true;
  }
  return found;
}
