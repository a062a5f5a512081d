import { type RemoteTrackEvent, sourceOf } from './media.ts';
import type { Participant, TrackInfo, TrackSource } from './types.ts';

/**
 * The tracks we receive, by participant, each classified as camera or screen. A participant's
 * first video track is its camera unless the server named it as the screen (`room.screen_sharing`
 * carries the screen track's id); the server may not keep the publisher's track ids, so while a
 * participant shares, another video track is taken as the screen. A screen track may arrive before
 * the event that names it, or outlive it: `reclassify` moves it (trackRemoved, then trackAdded).
 */
export class RemoteTracks {
  readonly #tracks = new Map<string, TrackInfo[]>();
  /** The first video track of each subscription: the camera. */
  readonly #cameraVideo = new Map<string, MediaStreamTrack>();
  readonly #added: (track: TrackInfo) => void;
  readonly #removed: (track: TrackInfo) => void;

  constructor(events: { added: (track: TrackInfo) => void; removed: (track: TrackInfo) => void }) {
    this.#added = events.added;
    this.#removed = events.removed;
  }

  of(participantId: string): readonly TrackInfo[] {
    return this.#tracks.get(participantId) ?? [];
  }

  /**
   * A track arrived on `participant`'s subscription: its record, which the caller announces
   * (trackAdded) once it applied what it keeps for the participant; null when known already.
   */
  add(participant: Participant, e: RemoteTrackEvent): TrackInfo | null {
    const kind = e.track.kind === 'audio' ? 'audio' : 'video';
    const screenId = participant.state.screenTrackId;
    if (kind === 'video' && !this.#cameraVideo.has(e.targetId) && e.track.id !== screenId) {
      this.#cameraVideo.set(e.targetId, e.track);
    }
    const source = this.#sourceOf(participant, e.track);
    const record: TrackInfo = { participantId: e.targetId, kind, source, track: e.track, stream: e.stream };
    const list = this.#tracks.get(e.targetId) ?? [];
    if (list.some((t) => t.track === e.track)) return null;
    list.push(record);
    this.#tracks.set(e.targetId, list);
    return record;
  }

  /** A received track ended (its section became inactive). */
  ended(e: RemoteTrackEvent): void {
    const list = this.#tracks.get(e.targetId);
    const index = list?.findIndex((t) => t.track === e.track) ?? -1;
    if (!list || index < 0) return;
    const [record] = list.splice(index, 1);
    this.#removed(record!);
  }

  /** The participant's subscription is gone: its tracks are removed. */
  drop(participantId: string): void {
    this.#cameraVideo.delete(participantId);
    for (const track of this.#tracks.get(participantId) ?? []) this.#removed(track);
    this.#tracks.delete(participantId);
  }

  /** The participant started or stopped sharing: tracks whose source changed are moved. */
  reclassify(participant: Participant): void {
    const list = this.#tracks.get(participant.id) ?? [];
    for (const [i, record] of list.entries()) {
      if (record.kind !== 'video') continue;
      const source = this.#sourceOf(participant, record.track);
      if (source === record.source) continue;
      this.#removed(record);
      if (record.source === 'screen') {
        // Sharing stopped: the screen track goes away (its section becomes inactive).
        list.splice(i, 1);
        this.reclassify(participant);
        return;
      }
      const updated = { ...record, source };
      list[i] = updated;
      this.#added(updated);
    }
  }

  clear(): void {
    this.#tracks.clear();
    this.#cameraVideo.clear();
  }

  /**
   * Camera or screen: the track named by `room.screen_sharing`, else any video track but the
   * subscription's first while the participant shares.
   */
  #sourceOf(participant: Participant, track: MediaStreamTrack): TrackSource {
    if (track.kind !== 'video') return 'camera';
    if (sourceOf(track.id, participant.state.screenTrackId) === 'screen') return 'screen';
    const camera = this.#cameraVideo.get(participant.id);
    if (!camera || camera === track) return 'camera';
    return participant.state.screenSharing ? 'screen' : 'camera';
  }
}
