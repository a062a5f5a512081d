import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { MediaState, TrackInspection } from '../../protocol/sfu-api.ts';
import { offeredTrackId, primaryTracks } from './backup-codecs.ts';
import type { Publisher } from './publisher.ts';
import type { Subscription } from './subscription.ts';
import type { UpTrack } from './up-track.ts';

/**
 * The admin side of a media worker: what one worker holds of a room (SfuApi.inspectRoom; the
 * control side assembles the parts of a room spanning workers, ../room-inspection.ts), and the
 * operator's mute (MediaStateRequest.enforce).
 */

/** A published track as its home worker sees it; who receives it is added from every worker. */
export type TrackPart = Omit<TrackInspection, 'subscribers'>;

/** One video or audio track a subscriber here receives, and the layer it gets. */
export interface Reception {
  targetId: ParticipantId;
  trackId: string;
  spatial: number;
  temporal: number;
  bitrateBps: number;
}

/** What one worker holds of a room. */
export interface RoomPart {
  roomId: RoomId;
  nodeId: string;
  publishers: Array<{ participantId: ParticipantId; tracks: TrackPart[]; bytesIn: number }>;
  subscribers: Array<{ participantId: ParticipantId; bytesOut: number; receptions: Reception[] }>;
}

export function inspectRoomPart(options: {
  roomId: RoomId;
  nodeId: string;
  publishers: Iterable<Publisher>;
  subscriptions: Iterable<Subscription>;
}): RoomPart {
  const publishers = [...options.publishers].map((p) => ({
    participantId: p.participantId,
    // A backup codec (backup-codecs.ts) is the camera's: its receivers are listed under it.
    tracks: primaryTracks(p.tracks.values()).map((up) => describeTrack(up, p.mediaState)),
    bytesIn: p.transport.stats.bytesReceived,
  }));
  const bySubscriber = new Map<ParticipantId, RoomPart['subscribers'][number]>();
  for (const subscription of options.subscriptions) {
    let entry = bySubscriber.get(subscription.subscriberId);
    if (!entry) {
      entry = { participantId: subscription.subscriberId, bytesOut: 0, receptions: [] };
      bySubscriber.set(subscription.subscriberId, entry);
    }
    entry.bytesOut += subscription.transport.stats.bytesSent;
    for (const down of subscription.downTracks.values()) {
      const current = down.current;
      const spatial = current?.spatial ?? -1;
      const temporal = current?.temporal ?? -1;
      entry.receptions.push({
        targetId: subscription.targetId,
        trackId: offeredTrackId(down.upTrack),
        spatial,
        temporal,
        bitrateBps: down.upTrack.muted
          ? 0
          : layerBitrate(down.upTrack, down.kind === 'audio' ? 0 : spatial, temporal),
      });
    }
  }
  return {
    roomId: options.roomId,
    nodeId: options.nodeId,
    publishers,
    subscribers: [...bySubscriber.values()],
  };
}

function describeTrack(up: UpTrack, state: MediaState): TrackPart {
  const screen = state.screenSharing && state.screenTrackId === up.trackId;
  const rates = up.bitratesBps();
  return {
    trackId: up.trackId,
    kind: up.kind,
    source: up.kind === 'audio' ? 'microphone' : screen ? 'screen' : 'camera',
    codec: up.codec.mimeType,
    rids: [...up.rids],
    layers: up.layerCount,
    muted: up.muted,
    // Each spatial layer's row is cumulative over its temporal layers: its last entry is its rate.
    bitrateBps: Math.round(rates.reduce((sum, row) => sum + (row.at(-1) ?? 0), 0)),
  };
}

/** The measured rate of spatial layer `spatial` up to temporal layer `temporal` (-1: all of them). */
function layerBitrate(up: UpTrack, spatial: number, temporal: number): number {
  if (spatial < 0) return 0;
  const row = up.bitratesBps()[spatial] ?? [];
  const rate = temporal < 0 ? row.at(-1) : row[Math.min(temporal, row.length - 1)];
  return Math.round(rate ?? 0);
}

/**
 * An operator's mute (MediaStateRequest.enforce): the publisher's audio tracks stop or resume
 * with `audioEnabled`, its camera video (not the screen share) with `videoEnabled`. A state
 * turning a kind back on resumes it whether enforced or not (the participant unmuted itself).
 */
export function applyForwarding(publisher: Publisher, state: Partial<MediaState>, enforce: boolean): void {
  for (const up of publisher.tracks.values()) {
    const screen = publisher.mediaState.screenSharing && publisher.mediaState.screenTrackId === up.trackId;
    if (screen) continue;
    const enabled = up.kind === 'audio' ? state.audioEnabled : state.videoEnabled;
    if (enabled === undefined) continue;
    // Why: a participant turning itself off is only told to the room (Waterbus), never enforced.
    if (enabled) up.setMuted(false);
    else if (enforce) up.setMuted(true);
  }
}
