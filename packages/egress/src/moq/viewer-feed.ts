import * as Moq from '@moq/net';
import { AUDIO_TRACK, CATALOG_TRACK, type HangCatalog, VIDEO_TRACK } from './hang-catalog.ts';
import type { BroadcastViewer, EncodedFrame, MediaTrackName } from './moq-broadcast.ts';

/** The viewer connection a feed belongs to: how far behind its socket is, and the drop count. */
export interface ViewerLink {
  /** Payload bytes handed to the session that its socket has not sent yet (an estimate). */
  lagBytes(): number;
  handed(bytes: number): void;
  groupDropped(): void;
}

interface MediaTrack {
  producer: Moq.Track.Producer;
  group: Moq.Group.Producer | null;
}

/**
 * One viewer's copy of a broadcast: its own @moq/net broadcast and tracks, so that a slow viewer
 * skips whole groups on its own without holding back the others. A group starts only while the
 * viewer's backlog is under `maxLagBytes`; otherwise the viewer misses it (counted) and resumes
 * at a later keyframe, so what waits for a slow socket stays bounded.
 */
export class ViewerFeed implements BroadcastViewer {
  readonly broadcast = new Moq.Broadcast.Producer();
  readonly #link: ViewerLink;
  readonly #maxLagBytes: number;
  readonly #catalog: Moq.Track.Producer;
  readonly #tracks = new Map<MediaTrackName, MediaTrack>();

  constructor(link: ViewerLink, maxLagBytes: number) {
    this.#link = link;
    this.#maxLagBytes = maxLagBytes;
    this.#catalog = this.broadcast.createTrack(CATALOG_TRACK);
  }

  catalog(catalog: HangCatalog): void {
    // The tracks exist before the catalog names them, so a viewer's subscription finds them.
    if (catalog.video) this.#track(VIDEO_TRACK);
    if (catalog.audio) this.#track(AUDIO_TRACK);
    // One frame per group: the shape @moq/json's Snapshot consumer reads (no deltas).
    this.#catalog.writeJson(catalog);
  }

  startGroup(name: MediaTrackName): void {
    const track = this.#track(name);
    track.group?.close();
    track.group = null;
    if (this.#link.lagBytes() > this.#maxLagBytes) {
      this.#link.groupDropped();
      return;
    }
    track.group = track.producer.appendGroup();
  }

  frame(name: MediaTrackName, frame: EncodedFrame): void {
    const group = this.#tracks.get(name)?.group;
    if (!group) return;
    group.writeFrame(frame);
    this.#link.handed(frame.payload.byteLength);
  }

  end(): void {
    for (const track of this.#tracks.values()) {
      track.group?.close();
      track.producer.close();
    }
    this.#catalog.close();
    this.broadcast.close();
  }

  #track(name: MediaTrackName): MediaTrack {
    let track = this.#tracks.get(name);
    if (!track) {
      track = { producer: this.broadcast.createTrack(name), group: null };
      this.#tracks.set(name, track);
    }
    return track;
  }
}
