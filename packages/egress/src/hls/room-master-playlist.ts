import { MASTER_HEADER, type StreamVariants, variantLines } from './master-playlist.ts';

/**
 * The master playlist of a room's live HLS: every participant streamed is listed with the variants
 * of its own stream (its master playlist's, URIs prefixed with its directory), each participant's
 * audio a group of its own, so that a player selecting a participant's variant gets that
 * participant's video and audio together.
 *
 * Why variants and not EXT-X-MEDIA TYPE=VIDEO alternates (Apple's "camera angles", the form the
 * spec has for other content at the same time): hls.js (1.7) parses TYPE=VIDEO renditions but has
 * no controller that plays or switches them, and ffmpeg maps each variant to a program. A variant
 * per participant is what hls.js (levels), Safari, ffmpeg and ExoPlayer all open; the cost is that
 * an adaptive player may switch participants on its own as bandwidth changes, so a viewer pins its
 * level (the viewer page does). Each variant carries STABLE-VARIANT-ID (the participant's id, the
 * same for its Opus and AAC variants, which share the video URI) and each audio rendition's NAME
 * is the participant's name: what a player shows to tell who is who.
 */

export interface RoomParticipantStream extends StreamVariants {
  /** The participant's id: its directory under the egress's, and its STABLE-VARIANT-ID. */
  id: string;
  /** What a player shows (the audio renditions' NAME). */
  name: string;
}

export function renderRoomMasterPlaylist(participants: RoomParticipantStream[]): string {
  const used = new Set<number>();
  // Why distinct bandwidths: hls.js takes variants equal in BANDWIDTH, RESOLUTION, FRAME-RATE and
  // CODECS for redundant copies of one stream (a fallback pathway) and shows only one of them; two
  // participants with the same camera could otherwise collapse into one level.
  const bandwidth = (peakBps: number) => {
    let bps = Math.ceil(peakBps);
    while (used.has(bps)) bps++;
    used.add(bps);
    return bps;
  };
  const lines = participants.flatMap((p) =>
    variantLines(p, {
      uriPrefix: `${encodeURIComponent(p.id)}/`,
      groupPrefix: `${quotedString(p.id)}-`,
      audioName: quotedString(p.name),
      extraAttributes: [`STABLE-VARIANT-ID="${stableId(p.id)}"`],
      bandwidth,
    }),
  );
  return `${[...MASTER_HEADER, ...lines].join('\n')}\n`;
}

/**
 * A quoted-string holds no double quote, CR or LF and has no escape (RFC 8216 4.2): those become
 * an apostrophe and spaces.
 */
export function quotedString(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  return text.replace(/"/g, "'").replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** STABLE-VARIANT-ID takes only [a-zA-Z0-9+/=.\-_] (draft-pantos-hls-rfc8216bis 4.4.6.2). */
export function stableId(id: string): string {
  return id.replace(/[^a-zA-Z0-9+/=._-]/g, '_');
}
