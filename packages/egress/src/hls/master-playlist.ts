/**
 * The master (multivariant) playlist of one HLS stream: a variant per audio codec when the video
 * has alternative audio renditions (EXT-X-MEDIA TYPE=AUDIO, one group per codec, as Apple's
 * authoring spec asks so a player picks the group whose codec it decodes), or a single variant.
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

export function renderMasterPlaylist(video: MasterVideo | null, audio: MasterAudio[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  if (!video) {
    // Audio only: each audio playlist is a variant of its own.
    for (const a of audio) {
      lines.push(streamInf(a.peakBps, a.averageBps, a.codecs, []), a.uri);
    }
    return `${lines.join('\n')}\n`;
  }
  for (const a of audio) {
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${groupId(a)}",NAME="${a.name}",DEFAULT=YES,AUTOSELECT=YES,` +
        `CHANNELS="${a.channels}",URI="${a.uri}"`,
    );
  }
  const videoAttrs = [
    `RESOLUTION=${video.width}x${video.height}`,
    // Before a whole segment was measured the rate is unknown: the attribute is optional.
    ...(video.frameRate > 0 ? [`FRAME-RATE=${video.frameRate.toFixed(3)}`] : []),
  ];
  if (audio.length === 0) {
    lines.push(streamInf(video.peakBps, video.averageBps, video.codecs, videoAttrs), video.uri);
  }
  for (const a of audio) {
    const attrs = [...videoAttrs, `AUDIO="${groupId(a)}"`];
    const codecs = `${video.codecs},${a.codecs}`;
    lines.push(
      streamInf(video.peakBps + a.peakBps, video.averageBps + a.averageBps, codecs, attrs),
      video.uri,
    );
  }
  return `${lines.join('\n')}\n`;
}

function groupId(audio: MasterAudio): string {
  return `audio-${audio.codecs.replace(/[^a-z0-9]/gi, '')}`;
}

function streamInf(peakBps: number, averageBps: number, codecs: string, attrs: string[]): string {
  const bandwidth = `BANDWIDTH=${Math.ceil(peakBps)},AVERAGE-BANDWIDTH=${Math.ceil(averageBps)}`;
  return `#EXT-X-STREAM-INF:${[bandwidth, `CODECS="${codecs}"`, ...attrs].join(',')}`;
}
