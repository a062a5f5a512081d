import type { LocalTransportParameters } from '../media-transport.ts';
import {
  ACCEPTED_FEEDBACK,
  type CodecParameters,
  findCapability,
  type HeaderExtension,
  SERVER_CAPABILITIES,
} from './capabilities.ts';
import type { MediaSection, RemoteDescription } from './parse.ts';
import { applicationLines, sessionLines, transportLines } from './sdp-lines.ts';

export interface PublishedTrackInfo {
  mid: string;
  kind: 'audio' | 'video';
  trackId: string;
  streamId: string;
  codec: CodecParameters;
  ssrcs: number[];
  /** Simulcast rids ordered low → high quality. */
  rids: string[];
  headerExtensions: HeaderExtension[];
}

/** The data channel section we accepted: the peer's SCTP port and largest message (RFC 8841). */
export interface NegotiatedDataChannels {
  mid: string;
  remotePort: number;
  /** 0 = any size; undefined: the peer did not say (64 KiB). */
  maxMessageSize: number | undefined;
}

/**
 * Picks a video section's codec among `candidates` (mime types the SFU forwards, in the
 * publisher's order, at least two); anything else, or undefined, means the publisher's first.
 */
export type VideoCodecPicker = (mid: string, candidates: string[]) => string | undefined;

/** Waterbus and browsers name simulcast layers q/h/f (or l/m/h); unknown names keep their order. */
const RID_RANK: Record<string, number> = { q: 0, l: 0, low: 0, h: 1, m: 1, mid: 1, f: 2, high: 2, full: 2 };

/**
 * The answer to a publisher's offer (RFC 8829 §5.3): each audio/video section is accepted
 * `recvonly` with the first codec of the client's order that we forward, or for video the one
 * `pickVideo` picks among those (its payload types are kept: they are what its RTP carries), simulcast is received as offered, the first
 * `webrtc-datachannel` section over DTLS/SCTP is accepted (others declined), and our ICE-lite
 * credentials, fingerprint and host candidates are added.
 */
export function createPublisherAnswer(
  offer: RemoteDescription,
  local: LocalTransportParameters,
  pickVideo?: VideoCodecPicker,
): { sdp: string; tracks: PublishedTrackInfo[]; dataChannels: NegotiatedDataChannels | undefined } {
  const tracks: PublishedTrackInfo[] = [];
  let dataChannels: NegotiatedDataChannels | undefined;
  const sections: string[][] = [];
  const accepted: string[] = [];
  for (const m of offer.media) {
    if (!dataChannels && isDataChannelSection(m)) {
      dataChannels = { mid: m.mid, remotePort: m.sctpPort ?? 5000, maxMessageSize: m.maxMessageSize };
      sections.push(applicationLines(m.mid, local, offer.setup === 'passive' ? 'active' : 'passive'));
      accepted.push(m.mid);
      continue;
    }
    const codec = m.kind === 'application' || m.port === 0 ? undefined : chooseCodec(m, pickVideo);
    if (!codec || m.direction === 'recvonly' || m.direction === 'inactive') {
      sections.push(rejectedSection(m));
      continue;
    }
    const extensions = m.headerExtensions.filter((e) =>
      SERVER_CAPABILITIES.headerExtensions.some((s) => s.uri === e.uri),
    );
    const rids = orderRids(m.rids);
    sections.push(mediaSection(m, codec, extensions, rids, local, offer.setup));
    accepted.push(m.mid);
    tracks.push({
      mid: m.mid,
      kind: m.kind as 'audio' | 'video',
      trackId: m.msid?.trackId ?? m.mid,
      streamId: m.msid?.streamId ?? m.mid,
      codec,
      ssrcs: m.ssrcs,
      rids,
      headerExtensions: extensions,
    });
  }
  const session = sessionLines(accepted);
  // RFC 8285 §6: when offered, say we take two-byte extension headers too (Chromium needs them
  // for a dependency descriptor longer than 16 bytes, e.g. one carrying its template structure).
  if (offer.extmapAllowMixed) session.push('a=extmap-allow-mixed');
  const sdp = [...session, ...sections.flat()].join('\r\n');
  return { sdp: `${sdp}\r\n`, tracks, dataChannels };
}

/** RFC 8841 §4: `m=application <port> UDP/DTLS/SCTP webrtc-datachannel` (TCP/DTLS/SCTP too). */
export function isDataChannelSection(m: MediaSection): boolean {
  return (
    m.kind === 'application' &&
    m.port !== 0 &&
    /DTLS\/SCTP$/i.test(m.protocol) &&
    (m.formats ?? '').split(' ').includes('webrtc-datachannel')
  );
}

/**
 * The codec a section is answered with: the first of the publisher's order that we forward or, for
 * video when `pickVideo` is given, the one it picks among those (the room codec policy).
 */
function chooseCodec(m: MediaSection, pickVideo: VideoCodecPicker | undefined): CodecParameters | undefined {
  const usable = usableCodecs(m);
  if (m.kind !== 'video' || !pickVideo || usable.length < 2) return usable[0];
  const mime = pickVideo(m.mid, [...new Set(usable.map((c) => c.mimeType))])?.toLowerCase();
  return usable.find((c) => c.mimeType.toLowerCase() === mime) ?? usable[0];
}

/** The section's codecs that we forward, in the publisher's order, with what we accept of each. */
function usableCodecs(m: MediaSection): CodecParameters[] {
  const usable: CodecParameters[] = [];
  for (const c of m.codecs) {
    const capability = findCapability(c.mimeType);
    if (!capability) continue;
    // H.264 needs packetization-mode 1 (FU-A) for frames larger than one packet.
    if (/h264$/i.test(c.mimeType) && Number(c.fmtp['packetization-mode'] ?? 0) !== 1) continue;
    const chosen = { ...c, rtcpFeedback: acceptedFeedback(c) };
    if (capability.redundantCodec) {
      // RED is forwarded as is: its blocks must carry the inner codec (Opus) with the payload type
      // subscribers are offered, so it is kept only when the publisher's Opus has ours.
      const inner = capability.redundantCodec;
      const offered = m.codecs.find(
        (o) =>
          o.mimeType.toLowerCase() === inner.mimeType.toLowerCase() && o.payloadType === inner.payloadType,
      );
      if (!offered) continue;
      usable.push({
        ...chosen,
        fmtp: {},
        redundantCodec: { ...offered, rtcpFeedback: acceptedFeedback(offered) },
      });
      continue;
    }
    usable.push(chosen);
  }
  return usable;
}

function acceptedFeedback(c: CodecParameters): CodecParameters['rtcpFeedback'] {
  return c.rtcpFeedback.filter((f) =>
    ACCEPTED_FEEDBACK.has(f.parameter ? `${f.type} ${f.parameter}` : f.type),
  );
}

/** The payload types of an m-line for `codec`: its own, red's inner codec's, then RTX. */
export function payloadTypes(codec: CodecParameters): number[] {
  const pts = [codec.payloadType];
  if (codec.redundantCodec) pts.push(codec.redundantCodec.payloadType);
  if (codec.rtxPayloadType !== undefined) pts.push(codec.rtxPayloadType);
  return pts;
}

function orderRids(rids: string[]): string[] {
  return rids
    .map((rid, i) => ({ rid, rank: RID_RANK[rid.toLowerCase()] ?? 10 + i }))
    .sort((a, b) => a.rank - b.rank)
    .map((r) => r.rid);
}

function mediaSection(
  m: MediaSection,
  codec: CodecParameters,
  extensions: HeaderExtension[],
  rids: string[],
  local: LocalTransportParameters,
  remoteSetup: RemoteDescription['setup'],
): string[] {
  const lines = [
    `m=${m.kind} 9 ${m.protocol} ${payloadTypes(codec).join(' ')}`,
    'c=IN IP4 0.0.0.0',
    `a=mid:${m.mid}`,
    'a=recvonly',
  ];
  lines.push(...transportLines(local, remoteSetup === 'passive' ? 'active' : 'passive'));
  lines.push('a=rtcp-mux');
  if (m.rtcpRsize) lines.push('a=rtcp-rsize');
  for (const e of extensions) lines.push(`a=extmap:${e.id} ${e.uri}`);
  lines.push(...codecLines(codec));
  if (rids.length > 0) {
    for (const rid of m.rids) lines.push(`a=rid:${rid} recv`);
    lines.push(`a=simulcast:recv ${m.rids.join(';')}`);
  }
  return lines;
}

export function codecLines(codec: CodecParameters): string[] {
  const [, name] = codec.mimeType.split('/');
  const channels = codec.channels && codec.channels > 1 ? `/${codec.channels}` : '';
  const lines = [`a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${channels}`];
  const fmtp = Object.entries(codec.fmtp).map(([k, v]) => `${k}=${v}`);
  // RFC 2198 §5: red's fmtp names the payload type of each redundant block.
  const inner = codec.redundantCodec;
  if (inner) lines.push(`a=fmtp:${codec.payloadType} ${inner.payloadType}/${inner.payloadType}`);
  else if (fmtp.length > 0) lines.push(`a=fmtp:${codec.payloadType} ${fmtp.join(';')}`);
  for (const f of codec.rtcpFeedback)
    lines.push(`a=rtcp-fb:${codec.payloadType} ${f.type}${f.parameter ? ` ${f.parameter}` : ''}`);
  if (inner) lines.push(...codecLines(inner));
  if (codec.rtxPayloadType !== undefined) {
    lines.push(
      `a=rtpmap:${codec.rtxPayloadType} rtx/${codec.clockRate}`,
      `a=fmtp:${codec.rtxPayloadType} apt=${codec.payloadType}`,
    );
  }
  return lines;
}

function rejectedSection(m: MediaSection): string[] {
  if (m.kind === 'application')
    return [`m=application 0 ${m.protocol} webrtc-datachannel`, 'c=IN IP4 0.0.0.0', `a=mid:${m.mid}`];
  const pt = m.codecs[0]?.payloadType ?? 0;
  return [`m=${m.kind} 0 ${m.protocol} ${pt}`, 'c=IN IP4 0.0.0.0', `a=mid:${m.mid}`, 'a=inactive'];
}

export { findCapability };
