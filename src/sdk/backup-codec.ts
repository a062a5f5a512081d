/**
 * The backup codec of our camera (docs/sdk.md): when it is sent in H264 or VP9, a second video
 * transceiver sends the same track in VP8, every encoding paused, for subscribers who cannot
 * decode the first codec. The server asks for it with `track_quality` naming the codec
 * (`{"trackId","subscribedCount","quality","codec":"vp8"}`, docs/data-channels.md). Pure: no
 * WebRTC objects, so that it runs in Node's tests.
 */

import type { PublishOptions } from './media.ts';

/** The codec a backup is sent in (what every browser decodes). */
export const BACKUP_CODEC = 'VP8';

/** Whether a camera published with `options` also sends a backup in BACKUP_CODEC. */
export function wantsBackup(options: PublishOptions): boolean {
  return options.backupCodec !== false && options.codec !== BACKUP_CODEC;
}

/** A `track_quality` message from the server, as the publisher reads it. */
export interface LayersWanted {
  trackId: string;
  quality: number;
  subscribedCount: number | undefined;
  /** Set: the message is about the backup in this codec (lower case), not the camera's own. */
  codec: string | undefined;
}

/** Reads a `track_quality` message (JSON, text or UTF-8 bytes); undefined when it is not one. */
export function parseLayersWanted(data: unknown): LayersWanted | undefined {
  let msg: { trackId?: unknown; quality?: unknown; subscribedCount?: unknown; codec?: unknown };
  try {
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer);
    msg = JSON.parse(text) as typeof msg;
  } catch {
    return undefined;
  }
  if (msg === null || typeof msg !== 'object') return undefined;
  if (typeof msg.trackId !== 'string' || typeof msg.quality !== 'number') return undefined;
  return {
    trackId: msg.trackId,
    quality: msg.quality,
    subscribedCount: typeof msg.subscribedCount === 'number' ? msg.subscribedCount : undefined,
    codec: typeof msg.codec === 'string' ? msg.codec.toLowerCase() : undefined,
  };
}

/**
 * Which of `encodings` encodings to send for `wanted`. The camera's own lowest layer always stays
 * on (a track that sends nothing is never announced to the room, and a new subscriber starts from
 * it); a backup sends nothing at all while no subscriber wants it.
 */
export function activeEncodings(wanted: LayersWanted, encodings: number): boolean[] {
  const layers = Math.min(encodings, Math.max(0, Math.trunc(wanted.quality)));
  let keep = Math.max(1, layers);
  // Why: Dynacast stops unwanted layers only after a delay; a backup nobody receives stops at once.
  if (wanted.codec !== undefined) keep = wanted.subscribedCount === 0 ? 0 : layers;
  return Array.from({ length: encodings }, (_, i) => i < keep);
}
