/**
 * What a subscription hands the LayerAllocator and takes back: its video DownTracks as allocator
 * tracks (the rungs they may take), the budget an estimate leaves for video, the Waterbus quality
 * a subscriber asks for as a layer, and the targets an allocation sets on the DownTracks.
 * Functions; not the allocator (qos/layer-allocator.ts) and not when it runs (Subscription,
 * SubscriberBudget).
 */

import type { ParticipantId } from '../../lib/ids.ts';
import { mediaCounting } from '../../lib/media-counters.ts';
import { mediaHistograms } from '../../lib/media-histograms.ts';
import type { AllocatorTrack, TrackAllocation } from '../qos/layer-allocator.ts';
import { HIGHEST_LAYER, NO_LAYER, type VideoLayer } from '../qos/video-layer.ts';
import type { DownTrack } from './down-track.ts';
import type { WaterbusQuality } from './up-track.ts';

/** What an audio track is assumed to take from the estimate. */
const AUDIO_BPS = 50_000;
/** A down-switch is urgent (the current layer stops at once) when that layer takes more than this × the estimate. */
const URGENT_RATIO = 1.5;
/**
 * A down-switch is urgent too when what is in flight takes longer than this to drain at the
 * estimate: a queue stands at the bottleneck (a layer that just restarted measures low over the
 * bitrate window and may not trip URGENT_RATIO).
 */
const URGENT_QUEUE_MS = 200;

/** One connection's part of an allocation (see `allocationInputOf`). */
export interface AllocationInput {
  video: DownTrack[];
  /** One per `video` entry; track ids are `<publisher>/<track>` so that they are unique per subscriber. */
  tracks: AllocatorTrack[];
  audioTracks: number;
}

/**
 * What an estimate leaves for video: minus what audio takes, but never below the cheapest layer of
 * every wanted track. Bandwidth alone never pauses video: a frozen picture is worse than a late one.
 */
export function budgetFor(estimateBps: number, inputs: readonly AllocationInput[]): number {
  let audio = 0;
  let floor = 0;
  for (const input of inputs) {
    audio += input.audioTracks;
    for (const t of input.tracks) {
      if (t.paused) continue;
      // The allocator's first rung: the lowest layer sent (a keyframe-heavy low layer can measure
      // above a higher one, so not simply the smallest figure).
      const first = t.bitratesBps.flat().find((bps) => bps > 0);
      if (first !== undefined) floor += first;
    }
  }
  return Math.max(estimateBps - audio * AUDIO_BPS, floor);
}

/**
 * Counts a subscriber's periodic allocation in the worker's histograms: its estimate, and the
 * estimate over what the allocation gave it (`usedBps` of video plus what audio is assumed to take).
 * Called once a second per subscriber, never per packet.
 */
export function observeAllocation(
  estimateBps: number,
  usedBps: number,
  inputs: readonly AllocationInput[],
): void {
  if (!mediaCounting.on) return;
  let audio = 0;
  for (const input of inputs) audio += input.audioTracks;
  const allocatedBps = usedBps + audio * AUDIO_BPS;
  mediaHistograms.estimate.observe(estimateBps);
  // Nothing allocated (every track paused): no ratio to speak of.
  if (allocatedBps > 0) mediaHistograms.estimateRatio.observe(estimateBps / allocatedBps);
}

/**
 * Sets the targets an allocation chose for `input.video` (same order). A down-switch is urgent
 * (the current layer stops at once) when the layer forwarded now takes more than URGENT_RATIO ×
 * the connection's estimate, or when a queue of more than URGENT_QUEUE_MS stands at the
 * bottleneck (`drainMs`): the link no longer carries it. Its keyframe waits for that queue to drain.
 */
export function setTargets(
  input: AllocationInput,
  allocations: readonly TrackAllocation[],
  estimateBps: number | undefined,
  drainMs: number,
): void {
  allocations.forEach((t, i) => {
    const down = input.video[i]!;
    const current = down.current;
    const currentBps =
      current && current.spatial >= 0 ? (input.tracks[i]!.bitratesBps[current.spatial]?.at(-1) ?? 0) : 0;
    const urgent =
      estimateBps !== undefined && (currentBps > estimateBps * URGENT_RATIO || drainMs > URGENT_QUEUE_MS);
    down.setTarget(t.target, urgent, drainMs);
  });
}

/** Waterbus quality → the layer asked for: 0 pause, 1 low, 2 medium, 3 high (and whatever is above). */
export function qualityToLayer(quality: WaterbusQuality): VideoLayer {
  if (quality === 0) return { ...NO_LAYER };
  if (quality === 3) return { ...HIGHEST_LAYER };
  return { spatial: quality - 1, temporal: HIGHEST_LAYER.temporal };
}

/** A connection's share of an allocation: its wanted video tracks (in order) and its audio tracks. */
export function allocationInputOf(options: {
  downTracks: Iterable<DownTrack>;
  targetId: ParticipantId;
  isScreenShare: (trackId: string) => boolean;
  activeSpeaker: boolean;
}): AllocationInput {
  const video: DownTrack[] = [];
  const tracks: AllocatorTrack[] = [];
  let audio = 0;
  for (const down of options.downTracks) {
    if (down.kind === 'audio') {
      audio++;
      continue;
    }
    const preferred = down.preferred!;
    video.push(down);
    tracks.push({
      trackId: `${options.targetId}/${down.upTrack.trackId}`,
      screenShare: options.isScreenShare(down.upTrack.trackId),
      activeSpeaker: options.activeSpeaker,
      paused: preferred.spatial < 0,
      visible: true,
      preferred,
      bitratesBps: spatialFirst(down.upTrack.bitratesBps()),
    });
  }
  return { video, tracks, audioTracks: audio };
}

/**
 * The rungs the allocator may choose: every temporal layer of the lowest spatial layer, only the
 * full frame rate above it. Under a tight budget the subscriber gets a smaller picture at full
 * frame rate rather than a larger one at a quarter of it, and the layers step down spatially.
 */
function spatialFirst(bitrates: number[][]): number[][] {
  return bitrates.map((row, spatial) => {
    if (spatial === 0 || row.length === 0) return row;
    const full = row.at(-1)!;
    return row.map((_, t) => (t === row.length - 1 ? full : 0));
  });
}
