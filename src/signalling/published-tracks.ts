import type { WebhookTrack } from '../protocol/webhook-events.ts';

/**
 * The tracks a publisher's offer sends and the SFU's answer accepted, read from the two SDPs for
 * webhooks (RFC 8866 media sections; `a=msid` of RFC 8830; the answer's first payload type is the
 * codec used, RFC 3264 §6.1). `screenTrackId` is the media state's: that video is a screen share.
 */
export function publishedTracks(offer: string, answer: string, screenTrackId: string | null): WebhookTrack[] {
  const answered = new Map(mediaSections(answer).map((s) => [s.mid, s]));
  const tracks: WebhookTrack[] = [];
  for (const section of mediaSections(offer)) {
    const accepted = answered.get(section.mid);
    // Why skipped: data channels, media the client only receives, and m-lines the SFU refused.
    if (section.kind === undefined || !section.sends || !accepted || accepted.port === 0) continue;
    tracks.push({
      kind: section.kind,
      source: section.kind === 'audio' ? 'microphone' : sourceOfVideo(section.trackId, screenTrackId),
      trackId: section.trackId,
      mid: section.mid,
      codec: accepted.codec === null ? null : `${section.kind}/${accepted.codec}`,
    });
  }
  return tracks;
}

function sourceOfVideo(trackId: string | null, screenTrackId: string | null): WebhookTrack['source'] {
  return trackId !== null && trackId === screenTrackId ? 'screen_share' : 'camera';
}

interface MediaSection {
  kind: 'audio' | 'video' | undefined;
  port: number;
  mid: string;
  trackId: string | null;
  sends: boolean;
  codec: string | null;
}

function mediaSections(sdp: string): MediaSection[] {
  const sections = sdp.split(/\r?\nm=/).slice(1);
  return sections.map((text, index) => {
    const lines = text.split(/\r?\n/);
    const [media = '', port = '0', , firstPt] = (lines[0] ?? '').split(' ');
    const attr = (name: string) => lines.find((l) => l.startsWith(`a=${name}:`))?.slice(name.length + 3);
    const direction = lines.find((l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l)) ?? 'a=sendrecv';
    const rtpmap = lines.find((l) => l.startsWith(`a=rtpmap:${firstPt} `));
    return {
      kind: media === 'audio' || media === 'video' ? media : undefined,
      port: Number(port),
      mid: attr('mid') ?? String(index),
      trackId: attr('msid')?.split(' ')[1] ?? null,
      sends: direction === 'a=sendrecv' || direction === 'a=sendonly',
      codec: rtpmap?.split(' ')[1]?.split('/')[0] ?? null,
    };
  });
}
