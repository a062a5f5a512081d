/**
 * The master (multivariant) playlist of one HLS stream: a variant per audio codec when the video
 * has alternative audio renditions (EXT-X-MEDIA TYPE=AUDIO, one group per codec, as Apple's
 * authoring spec asks so a player picks the group whose codec it decodes), or a single variant.
 * A room's master (room-master-playlist.ts) repeats the same variants for each participant.
 */

export interface MasterVideo {
  uri: string;
  codecs: string;
  width: number;
  height: number;
  frameRate: number;
  /** Peak and average bits per second measured over the segments written. */
  peakBps: number;
  averageBps: number;
}

export interface MasterAudio {
  uri: string;
  /** "opus", "mp4a.40.2". */
  codecs: string;
  name: string;
  channels: number;
  peakBps: number;
  averageBps: number;
}

/** One stream's variants, as its master playlist lists them (URIs relative to the stream). */
export interface StreamVariants {
  video: MasterVideo | null;
  audio: MasterAudio[];
}

/** How a stream's variants are named inside a playlist listing several streams (a room's). */
export interface VariantNaming {
  /** Prepended to each URI (`<participantId>/`). */
  uriPrefix: string;
  /** Prepended to each audio GROUP-ID, so that each stream's audio is its own group. */
  groupPrefix: string;
  /** Replaces each audio rendition's NAME (the participant's). */
  audioName?: string;
  /** Attributes added to each EXT-X-STREAM-INF (STABLE-VARIANT-ID). */
  extraAttributes: string[];
  /** The BANDWIDTH given to each variant: the room's makes them distinct. */
  bandwidth?: (peakBps: number) => number;
}

export const MASTER_HEADER = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];

export function renderMasterPlaylist(video: MasterVideo | null, audio: MasterAudio[]): string {
  return `${[...MASTER_HEADER, ...variantLines({ video, audio })].join('\n')}\n`;
}

/** The EXT-X-MEDIA and EXT-X-STREAM-INF lines of one stream. */
export function variantLines(stream: StreamVariants, naming?: VariantNaming): string[] {
  const { video, audio } = stream;
  const n: VariantNaming = naming ?? { uriPrefix: '', groupPrefix: '', extraAttributes: [] };
  const lines: string[] = [];
  const inf = (peak: number, average: number, codecs: string, attrs: string[]) =>
    streamInf(n.bandwidth?.(peak) ?? peak, average, codecs, [...attrs, ...n.extraAttributes]);
  if (!video) {
    // Audio only: each audio playlist is a variant of its own.
    for (const a of audio) lines.push(inf(a.peakBps, a.averageBps, a.codecs, []), n.uriPrefix + a.uri);
    return lines;
  }
  for (const a of audio) {
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${groupId(a, n)}",NAME="${n.audioName ?? a.name}",DEFAULT=YES,` +
        `AUTOSELECT=YES,CHANNELS="${a.channels}",URI="${n.uriPrefix}${a.uri}"`,
    );
  }
  const videoAttrs = [
    `RESOLUTION=${video.width}x${video.height}`,
    // Before a whole segment was measured the rate is unknown: the attribute is optional.
    ...(video.frameRate > 0 ? [`FRAME-RATE=${video.frameRate.toFixed(3)}`] : []),
  ];
  const videoUri = n.uriPrefix + video.uri;
  if (audio.length === 0) {
    lines.push(inf(video.peakBps, video.averageBps, video.codecs, videoAttrs), videoUri);
  }
  for (const a of audio) {
    const attrs = [...videoAttrs, `AUDIO="${groupId(a, n)}"`];
    const codecs = `${video.codecs},${a.codecs}`;
    lines.push(inf(video.peakBps + a.peakBps, video.averageBps + a.averageBps, codecs, attrs), videoUri);
  }
  return lines;
}

function groupId(audio: MasterAudio, naming: VariantNaming): string {
  return `${naming.groupPrefix}audio-${audio.codecs.replace(/[^a-z0-9]/gi, '')}`;
}

function streamInf(peakBps: number, averageBps: number, codecs: string, attrs: string[]): string {
  const bandwidth = `BANDWIDTH=${Math.ceil(peakBps)},AVERAGE-BANDWIDTH=${Math.ceil(averageBps)}`;
  return `#EXT-X-STREAM-INF:${[bandwidth, `CODECS="${codecs}"`, ...attrs].join(',')}`;
}
