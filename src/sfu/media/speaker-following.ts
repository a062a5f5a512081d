/**
 * Viewers (WHEP) that follow a room's active speaker: which publisher a following viewer moves
 * to when the speakers change or the one it watches leaves, and the re-keying of its entry in
 * the room. Not the switch of its down tracks (switchViewer in viewer.ts) and not the detection
 * of speakers (active-speaker.ts).
 */

import type { ParticipantId } from '../../lib/ids.ts';
import type { ActiveSpeaker } from './active-speaker.ts';
import { type Room, type SubscriptionEntry, subscriptionKey } from './engine-room.ts';
import { switchViewer } from './viewer.ts';

/** What a viewer watched before it moved (`from`), to be released when nobody else watches it. */
export type Release = (from: ParticipantId) => void;

/** A following viewer moves to the loudest visible publisher here, unless it watches that one. */
export function followSpeaker(
  room: Room,
  entry: SubscriptionEntry,
  speakers: readonly ActiveSpeaker[],
  release: Release,
): void {
  const top = speakers.find((s) => room.publishers.get(s.participantId)?.hidden === false);
  if (!top || top.participantId === entry.subscription.targetId) return;
  moveViewer(room, entry, [top.participantId], release);
}

/**
 * Moves a following viewer to the first of `candidates` (publishers here, visible) that sends
 * the kinds and codecs it was answered; false when none does. `release`: what it watched is
 * released (a proxy of a remote publisher nobody else watches); undefined, the caller does it.
 */
export function moveViewer(
  room: Room,
  entry: SubscriptionEntry,
  candidates: Iterable<ParticipantId>,
  release: Release | undefined,
): boolean {
  const { subscription } = entry;
  const from = subscription.targetId;
  for (const id of candidates) {
    const publisher = room.publishers.get(id);
    if (!publisher || id === from || publisher.hidden) continue;
    const { tracks, mediaState } = publisher;
    if (
      !switchViewer({
        subscription,
        answered: entry.follow!,
        targetId: id,
        tracks: tracks.values(),
        mediaState,
      })
    )
      continue;
    room.subscriptions.delete(`${subscription.subscriberId}>${from}`);
    room.subscriptions.set(subscriptionKey(subscription), entry);
    release?.(from);
    return true;
  }
  return false;
}
