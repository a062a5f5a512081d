/**
 * A media playlist's text (RFC 8216 and its LL-HLS revision, draft-pantos-hls-rfc8216bis): the
 * window of complete segments, the parts of the newest ones, the segment being written and the
 * preload hint of its next part. Pure: the track owns the state, this only renders it.
 */

export interface PlaylistPart {
  uri: string;
  durationS: number;
  /** Starts with a keyframe (every audio part does). */
  independent: boolean;
}

export interface PlaylistSegment {
  msn: number;
  uri: string;
  durationS: number;
  /** Wall-clock time of the segment's first sample, ms since the epoch. */
  programDateMs: number;
  parts: PlaylistPart[];
}

export interface MediaPlaylistState {
  targetDurationS: number;
  /** LL-HLS part target; 0: no parts (plain HLS). */
  partTargetS: number;
  initUri: string;
  /** Complete segments in the window, oldest first. */
  segments: PlaylistSegment[];
  /** The segment being written (its parts so far), or null when none started. */
  current: { msn: number; programDateMs: number; parts: PlaylistPart[] } | null;
  ended: boolean;
}

/** The server-control hold back: 3 part targets, as 8216bis 4.4.3.8 recommends (at least 2). */
export function partHoldBackS(partTargetS: number): number {
  return 3 * partTargetS;
}

export function renderMediaPlaylist(state: MediaPlaylistState): string {
  const lowLatency = state.partTargetS > 0;
  const firstMsn = state.segments[0]?.msn ?? state.current?.msn ?? 0;
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${lowLatency ? 9 : 6}`];
  lines.push(`#EXT-X-TARGETDURATION:${state.targetDurationS}`);
  if (lowLatency) {
    lines.push(
      `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${seconds(partHoldBackS(state.partTargetS))}`,
      `#EXT-X-PART-INF:PART-TARGET=${seconds(state.partTargetS)}`,
    );
  }
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${firstMsn}`, '#EXT-X-INDEPENDENT-SEGMENTS');
  lines.push(`#EXT-X-MAP:URI="${state.initUri}"`);
  const keepPartsFrom = lowLatency ? firstSegmentWithParts(state) : Number.POSITIVE_INFINITY;
  for (const segment of state.segments) {
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateMs).toISOString()}`);
    if (segment.msn >= keepPartsFrom) lines.push(...segment.parts.map(partLine));
    lines.push(`#EXTINF:${seconds(segment.durationS)},`, segment.uri);
  }
  if (state.ended) {
    lines.push('#EXT-X-ENDLIST');
  } else if (lowLatency && state.current) {
    const { msn, parts, programDateMs } = state.current;
    if (parts.length > 0) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(programDateMs).toISOString()}`);
    lines.push(...parts.map(partLine));
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${partUri(msn, parts.length)}"`);
  }
  return `${lines.join('\n')}\n`;
}

export function segmentUri(msn: number): string {
  return `seg-${msn}.m4s`;
}

export function partUri(msn: number, index: number): string {
  return `part-${msn}.${index}.m4s`;
}

/**
 * 8216bis 4.4.4.9: parts may leave the playlist once they are more than three target durations
 * from its end; keep them for the segments that end within that distance.
 */
function firstSegmentWithParts(state: MediaPlaylistState): number {
  const horizonS = 3 * state.targetDurationS;
  let fromEndS = (state.current?.parts ?? []).reduce((sum, p) => sum + p.durationS, 0);
  let first = state.current?.msn ?? Number.POSITIVE_INFINITY;
  for (let i = state.segments.length - 1; i >= 0 && fromEndS < horizonS; i--) {
    const segment = state.segments[i]!;
    first = segment.msn;
    fromEndS += segment.durationS;
  }
  return first;
}

function partLine(part: PlaylistPart): string {
  const independent = part.independent ? ',INDEPENDENT=YES' : '';
  return `#EXT-X-PART:DURATION=${seconds(part.durationS)},URI="${part.uri}"${independent}`;
}

function seconds(value: number): string {
  return value.toFixed(5).replace(/0+$/, '').replace(/\.$/, '.0');
}
