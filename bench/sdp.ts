// The little SDP the load peers need: a publisher offer (Opus and/or VP8 simulcast, as a browser
// writes it), the reading of a remote description, and a recvonly answer to a subscriber offer.
import { DEFAULT_SCTP_PORT, LOCAL_MAX_MESSAGE_SIZE } from '../src/transport/sctp/index.ts';
import { EXT_AUDIO_LEVEL, EXT_MID, EXT_RID, type VideoLayerSpec } from './media-packets.ts';

export interface LocalIce {
  ufrag: string;
  pwd: string;
  fingerprint: string;
}

export interface RemoteSection {
  kind: string;
  mid: string;
  port: number;
  payloadTypes: number[];
  ssrcs: number[];
  /** a=rtpmap payload type → codec name (upper case). */
  codecs: Map<number, string>;
  /** The track id of `a=msid:<stream> <track>` (what a `track_quality` request names), if any. */
  trackId: string | undefined;
  /** m=application: `a=sctp-port` (RFC 8841 §5), when given. */
  sctpPort: number | undefined;
}

export interface RemoteDescriptionInfo {
  ufrag: string;
  pwd: string;
  fingerprint: string;
  setup: string;
  /** IPv4 UDP host candidates, loopback first. */
  candidates: Array<{ ip: string; port: number }>;
  /** IPv4 passive TCP host candidates (RFC 6544, `tcptype passive`), loopback first. */
  tcpCandidates: Array<{ ip: string; port: number }>;
  sections: RemoteSection[];
}

/** Reads what a load peer needs from a remote SDP; throws a clear error when something is missing. */
export function readRemoteDescription(sdp: string): RemoteDescriptionInfo {
  const lines = sdp.split(/\r?\n/);
  const info: RemoteDescriptionInfo = {
    ufrag: '',
    pwd: '',
    fingerprint: '',
    setup: 'actpass',
    candidates: [],
    tcpCandidates: [],
    sections: [],
  };
  let section: RemoteSection | undefined;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      const [kind, port, , ...pts] = line.slice(2).split(' ');
      section = {
        kind: kind!,
        mid: '',
        port: Number(port),
        payloadTypes: pts.map(Number).filter((n) => Number.isInteger(n)),
        ssrcs: [],
        codecs: new Map(),
        trackId: undefined,
        sctpPort: undefined,
      };
      info.sections.push(section);
    } else if (line.startsWith('a=ice-ufrag:')) info.ufrag ||= line.slice(12);
    else if (line.startsWith('a=ice-pwd:')) info.pwd ||= line.slice(10);
    else if (line.startsWith('a=fingerprint:sha-256 ')) info.fingerprint ||= line.slice(22);
    else if (line.startsWith('a=setup:')) info.setup = line.slice(8);
    else if (line.startsWith('a=mid:') && section) section.mid = line.slice(6);
    else if (line.startsWith('a=sctp-port:') && section)
      section.sctpPort = Number(line.slice(12)) || undefined;
    else if (line.startsWith('a=msid:') && section) section.trackId ??= line.slice(7).split(' ')[1];
    else if (line.startsWith('a=rtpmap:') && section) {
      const [pt, codec] = line.slice(9).split(' ');
      section.codecs.set(Number(pt), (codec ?? '').split('/')[0]!.toUpperCase());
    } else if (line.startsWith('a=ssrc:') && section) {
      const ssrc = Number(line.slice(7).split(' ')[0]);
      if (!section.ssrcs.includes(ssrc)) section.ssrcs.push(ssrc);
    } else if (line.startsWith('a=candidate:')) readCandidate(line, info);
  }
  const loopbackFirst = (a: { ip: string }, b: { ip: string }) =>
    Number(b.ip.startsWith('127.')) - Number(a.ip.startsWith('127.'));
  info.candidates.sort(loopbackFirst);
  info.tcpCandidates.sort(loopbackFirst);
  if (!info.ufrag || !info.pwd) throw new Error('remote SDP without ICE credentials');
  if (!info.fingerprint) throw new Error('remote SDP without a sha-256 fingerprint');
  if (info.candidates.length === 0 && info.tcpCandidates.length === 0)
    throw new Error('remote SDP without an IPv4 host candidate (UDP or passive TCP)');
  return info;
}

/**
 * `a=candidate:<foundation> <component> <udp|tcp> <priority> <ip> <port> typ host [tcptype passive]`:
 * IPv4 host candidates only (the load peers run on the server's machine), each address once.
 */
function readCandidate(line: string, info: RemoteDescriptionInfo): void {
  const f = line.slice(12).split(' ');
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(f[4] ?? '') || f[7] !== 'host') return;
  const protocol = f[2]?.toLowerCase();
  // Why: only a passive candidate accepts our connection; active ones connect out and so-ones need both.
  const tcpType = f.indexOf('tcptype') > 7 ? f[f.indexOf('tcptype') + 1]?.toLowerCase() : undefined;
  const tcpPassive = protocol === 'tcp' && tcpType === 'passive';
  const list = protocol === 'udp' ? info.candidates : tcpPassive ? info.tcpCandidates : undefined;
  const c = { ip: f[4]!, port: Number(f[5]) };
  if (list && !list.some((x) => x.ip === c.ip && x.port === c.port)) list.push(c);
}

function transportLines(local: LocalIce, mid: string, setup: string): string[] {
  return [
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${local.ufrag}`,
    `a=ice-pwd:${local.pwd}`,
    `a=fingerprint:sha-256 ${local.fingerprint}`,
    `a=setup:${setup}`,
    `a=mid:${mid}`,
  ];
}

export interface PublisherTracks {
  audio?: { ssrc: number } | undefined;
  video?: { ssrcs: number[]; layers: VideoLayerSpec[] } | undefined;
}

/** A browser-like publisher offer: audio (mid 0) and/or simulcast VP8 video (mid 1 or 0). */
export function publisherOffer(local: LocalIce, tracks: PublisherTracks, streamId: string): string {
  const mids: string[] = [];
  const body: string[] = [];
  // Letters, not numbers: the server's SDP parser reads a one-mid BUNDLE group of a numeric mid
  // ("a=group:BUNDLE 0") as a number and refuses the offer.
  if (tracks.audio) {
    const mid = 'a';
    mids.push(mid);
    body.push(
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      ...transportLines(local, mid, 'actpass'),
      `a=extmap:${EXT_AUDIO_LEVEL} urn:ietf:params:rtp-hdrext:ssrc-audio-level`,
      `a=extmap:${EXT_MID} urn:ietf:params:rtp-hdrext:sdes:mid`,
      'a=sendonly',
      `a=msid:${streamId} ${streamId}-audio`,
      'a=rtcp-mux',
      'a=rtpmap:111 opus/48000/2',
      'a=fmtp:111 minptime=10;useinbandfec=1',
      `a=ssrc:${tracks.audio.ssrc} cname:${streamId}`,
    );
  }
  if (tracks.video) {
    const mid = 'v';
    mids.push(mid);
    const rids = tracks.video.layers.map((l) => l.rid);
    body.push(
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      ...transportLines(local, mid, 'actpass'),
      `a=extmap:${EXT_MID} urn:ietf:params:rtp-hdrext:sdes:mid`,
      `a=extmap:${EXT_RID} urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id`,
      'a=sendonly',
      `a=msid:${streamId} ${streamId}-video`,
      'a=rtcp-mux',
      'a=rtcp-rsize',
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 ccm fir',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
      ...rids.map((r) => `a=rid:${r} send`),
      `a=simulcast:send ${rids.join(';')}`,
    );
  }
  return sdpText([
    'v=0',
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${mids.join(' ')}`,
    `a=msid-semantic: WMS ${streamId}`,
    ...body,
  ]);
}

/**
 * A recvonly answer to a subscriber offer: every audio/video section accepted with its first
 * codec; the data channel section accepted when `dataChannels` (a subscriber asking for a layer
 * over `track_quality`), else declined. No transport-cc or REMB is offered back, so the server
 * keeps the subscriber's preferred layer (the top one unless it asked for another).
 */
export function subscriberAnswer(
  local: LocalIce,
  offer: RemoteDescriptionInfo,
  setup: string,
  dataChannels = false,
): string {
  const body: string[] = [];
  for (const s of offer.sections) {
    const pt = s.payloadTypes[0];
    if (dataChannels && s.kind === 'application' && s.port !== 0) {
      body.push(
        'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
        ...transportLines(local, s.mid, setup),
        `a=sctp-port:${DEFAULT_SCTP_PORT}`,
        `a=max-message-size:${LOCAL_MAX_MESSAGE_SIZE}`,
      );
      continue;
    }
    if ((s.kind !== 'audio' && s.kind !== 'video') || s.port === 0 || pt === undefined) {
      body.push(
        `m=${s.kind} 0 ${s.kind === 'application' ? 'UDP/DTLS/SCTP webrtc-datachannel' : `UDP/TLS/RTP/SAVPF ${pt ?? 0}`}`,
      );
      body.push('c=IN IP4 0.0.0.0', `a=mid:${s.mid}`);
      continue;
    }
    const codec = s.codecs.get(pt) ?? (s.kind === 'audio' ? 'OPUS' : 'VP8');
    body.push(
      `m=${s.kind} 9 UDP/TLS/RTP/SAVPF ${pt}`,
      ...transportLines(local, s.mid, setup),
      'a=recvonly',
      'a=rtcp-mux',
      'a=rtcp-rsize',
      codec === 'OPUS' ? `a=rtpmap:${pt} opus/48000/2` : `a=rtpmap:${pt} ${codec}/90000`,
    );
  }
  return sdpText([
    'v=0',
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    // Every mid, declined ones too: the server's parser refuses a one-mid numeric group (see above).
    `a=group:BUNDLE ${offer.sections.map((s) => s.mid).join(' ')}`,
    'a=msid-semantic: WMS',
    ...body,
  ]);
}

function sdpText(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n`;
}
