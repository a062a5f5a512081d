/**
 * Backup codecs (LiveKit's "backup codec"): a publisher whose camera is in H264, VP9 or AV1 also
 * sends it in a second video section, restricted to VP8 and paused at first. The SFU forwards that
 * section to the subscribers who cannot decode the camera's codec, under the camera's own track
 * and stream ids (one camera tile on their side), and Dynacast asks the publisher for it only
 * while some subscriber wants it (`track_quality` naming the codec, docs/data-channels.md). A
 * subscriber on another media worker is offered the same way, from the publisher's proxy there,
 * which holds the backup too; it is relayed only while a subscriber there is given it
 * (remote-publishers.ts, relay-exports.ts). Pure choices over UpTracks: no I/O.
 *
 * How a backup is recognised: the publish payload names its section and the one it backs up
 * (JoinRequest.backupSections, by mid). The msid cannot say it: Chromium gives a track sent on a
 * second transceiver a fresh msid track id, and an SDP carries no relation between sections.
 */

import type { UpTrack } from './up-track.ts';

/** The id subscribers know a track by: a backup goes under its primary's. */
export function offeredTrackId(up: UpTrack): string {
  return up.backupOf ?? up.trackId;
}

/**
 * The track a new section backs up: the video track of `primaryMid`, itself no backup, when the
 * section is video too and its track id differs (a track cannot back itself up).
 */
export function backupTarget(
  tracks: ReadonlyMap<string, UpTrack>,
  section: { kind: 'audio' | 'video'; trackId: string },
  primaryMid: string | undefined,
): UpTrack | undefined {
  const primary = primaryMid === undefined ? undefined : tracks.get(primaryMid);
  if (section.kind !== 'video' || primary?.kind !== 'video' || primary.backupOf !== undefined)
    return undefined;
  return primary.trackId === section.trackId ? undefined : primary;
}

/** The tracks other than backups: what egress taps and room inspection are given. */
export function primaryTracks(tracks: Iterable<UpTrack>): UpTrack[] {
  return [...tracks].filter((up) => up.backupOf === undefined);
}

/**
 * What a subscriber is offered of `tracks`: each primary, or its backup when the subscriber is
 * known not to decode the primary's codec but not known to lack the backup's. A backup whose
 * primary is not among `tracks` is left out (its primary was offered earlier).
 */
export function tracksFor(tracks: Iterable<UpTrack>, decodes: (mimeType: string) => boolean): UpTrack[] {
  const all = [...tracks];
  const offered: UpTrack[] = [];
  for (const up of all) {
    if (up.backupOf !== undefined) continue;
    const backup = decodes(up.codec.mimeType) ? undefined : backupFor(all, up, decodes);
    offered.push(backup ?? up);
  }
  return offered;
}

/** The backup of `primary` among `tracks` in a codec `decodes` allows, if any. */
export function backupFor(
  tracks: Iterable<UpTrack>,
  primary: UpTrack,
  decodes: (mimeType: string) => boolean = () => true,
): UpTrack | undefined {
  for (const up of tracks)
    if (up.backupOf === primary.trackId && up.kind === primary.kind && decodes(up.codec.mimeType)) return up;
  return undefined;
}
