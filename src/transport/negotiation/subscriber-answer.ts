import { randomInt } from 'node:crypto';
import { SfuError } from '../../lib/errors.ts';
import type { LocalTransportParameters } from '../media-transport.ts';
import {
  ACCEPTED_FEEDBACK,
  type CodecParameters,
  EXTENSION_URI,
  FORWARDED_EXTENSIONS,
  findCapability,
  type HeaderExtension,
} from './capabilities.ts';
import type { MediaSection, RemoteDescription } from './parse.ts';
import { codecLines, payloadTypes } from './publisher-answer.ts';
import { sessionLines, transportLines } from './sdp-lines.ts';

/** A published track a subscriber's offer may receive: the publisher's codec and extensions. */
export interface AnswerSource {
  kind: 'audio' | 'video';
  trackId: string;
  streamId: string;
  /** The publisher's codec (audio/red: `redundantCodec` is the Opus its blocks carry). */
  codec: Pick<CodecParameters, 'mimeType' | 'clockRate' | 'fmtp'> & {
    redundantCodec?: Pick<CodecParameters, 'payloadType'> | undefined;
  };
  /** The header extensions the publisher sends on this track (its ids). */
  headerExtensions: ReadonlyArray<{ uri: string; id: number }>;
}

/** What the answer sends in one of the subscriber's sections, with the subscriber's numbers. */
export interface AnsweredTrack {
  mid: string;
  kind: 'audio' | 'video';
  trackId: string;
  streamId: string;
  /** The subscriber's payload types (RTX's too when it offered RTX for this codec). */
  codec: CodecParameters;
  ssrc: number;
  /** Set when the subscriber offered RTX for the codec (RFC 4588). */
  rtxSsrc: number | undefined;
  /** Forwarded extensions the subscriber offered, with its ids. */
  headerExtensions: HeaderExtension[];
}

/**
 * The answer to a subscriber's offer (RFC 8829 §5.3.1; WHEP): the first audio and the first video
 * section that may receive (`recvonly` or `sendrecv`, port not 0) are answered `sendonly` with the
 * publisher's track of that kind, in the subscriber's payload types, header extension ids and
 * mids; every other section, and one whose kind the publisher does not send, is rejected (port 0).
 * Throws `invalid_argument` when no section may receive, `unsupported` when none has a codec of
 * the publisher's tracks.
 */
export function createSubscriberAnswer(input: {
  offer: RemoteDescription;
  local: LocalTransportParameters;
  sources: Partial<Record<'audio' | 'video', AnswerSource>>;
  cname: string;
  /** Fresh SSRCs (tests pass a counter). */
  ssrc?: () => number;
}): { sdp: string; tracks: AnsweredTrack[] } {
  const { offer, sources } = input;
  const nextSsrc = input.ssrc ?? (() => randomInt(1, 2 ** 32 - 1));
  const receiving = new Map<'audio' | 'video', MediaSection>();
  for (const m of offer.media) {
    if ((m.kind === 'audio' || m.kind === 'video') && !receiving.has(m.kind) && mayReceive(m))
      receiving.set(m.kind, m);
  }
  if (receiving.size === 0)
    throw new SfuError('invalid_argument', 'the offer has no recvonly audio or video section');
  const tracks: AnsweredTrack[] = [];
  let transportCcId: number | undefined;
  for (const [kind, m] of receiving) {
    const source = sources[kind];
    const codec = source && chooseCodec(m, source);
    if (!source || !codec) continue;
    const rtx = codec.rtxPayloadType !== undefined;
    const extensions = answeredExtensions(m, source, transportCcId);
    transportCcId ??= extensions.find((e) => e.uri === EXTENSION_URI.transportCc)?.id;
    tracks.push({
      mid: m.mid,
      kind,
      trackId: source.trackId,
      streamId: source.streamId,
      codec,
      ssrc: nextSsrc(),
      rtxSsrc: rtx ? nextSsrc() : undefined,
      headerExtensions: extensions,
    });
  }
  if (tracks.length === 0) throw noCodec(receiving, sources);
  return { sdp: answerSdp(input, tracks), tracks };
}

/**
 * A viewer's receive codecs (WHEP: its offer): the mime types of the sections it may receive in
 * that the SFU forwards, each once, in the viewer's order.
 */
export function receiveCodecsOf(offer: RemoteDescription): string[] {
  const codecs = new Set<string>();
  for (const m of offer.media.filter(mayReceive))
    for (const c of m.codecs) {
      const known = findCapability(c.mimeType);
      if (known) codecs.add(known.mimeType);
    }
  return [...codecs];
}

function mayReceive(m: MediaSection): boolean {
  return m.port !== 0 && (m.direction === 'recvonly' || m.direction === 'sendrecv');
}

function noCodec(
  receiving: Map<'audio' | 'video', MediaSection>,
  sources: Partial<Record<'audio' | 'video', AnswerSource>>,
): SfuError {
  const wanted = [...receiving.keys()]
    .map((kind) => sources[kind]?.codec.mimeType)
    .filter((mime): mime is string => mime !== undefined);
  if (wanted.length === 0)
    return new SfuError('not_found', `the participant publishes no ${[...receiving.keys()].join(' or ')}`);
  return new SfuError('unsupported', `the offer has no codec of the published tracks (${wanted.join(', ')})`);
}

/**
 * The subscriber's codec matching the publisher's (RTP is forwarded as it is: same codec, and for
 * H.264 packetization-mode 1 and the same profile when the subscriber offered it; VP9 the same
 * profile), with the feedback we honour, and its RTX payload type when it offered one.
 */
function chooseCodec(m: MediaSection, source: AnswerSource): CodecParameters | undefined {
  const mime = source.codec.mimeType.toLowerCase();
  const candidates = m.codecs.filter(
    (c) => c.mimeType.toLowerCase() === mime && c.clockRate === source.codec.clockRate,
  );
  const chosen = /h264$/.test(mime)
    ? chooseH264(candidates, source.codec.fmtp)
    : /vp9$/.test(mime)
      ? candidates.find(
          (c) => Number(c.fmtp['profile-id'] ?? 0) === Number(source.codec.fmtp['profile-id'] ?? 0),
        )
      : candidates[0];
  if (!chosen) return undefined;
  const feedback = chosen.rtcpFeedback.filter((f) =>
    ACCEPTED_FEEDBACK.has(f.parameter ? `${f.type} ${f.parameter}` : f.type),
  );
  const codec: CodecParameters = {
    ...chosen,
    fmtp: { ...chosen.fmtp, ...source.codec.fmtp },
    rtcpFeedback: feedback,
  };
  if (/^audio\/red$/.test(mime)) return withRedundantCodec(m, codec, source);
  return codec;
}

/**
 * audio/red: its blocks carry the publisher's Opus payload type, which the SFU does not rewrite;
 * the subscriber must have offered Opus with that payload type too (RFC 2198 §5).
 */
function withRedundantCodec(
  m: MediaSection,
  codec: CodecParameters,
  source: AnswerSource,
): CodecParameters | undefined {
  const innerPt = source.codec.redundantCodec?.payloadType;
  const inner = m.codecs.find((c) => /\/opus$/i.test(c.mimeType) && c.payloadType === innerPt);
  if (!inner) return undefined;
  return {
    ...codec,
    fmtp: {},
    rtxPayloadType: undefined,
    redundantCodec: { ...inner, rtxPayloadType: undefined },
  };
}

function chooseH264(
  candidates: CodecParameters[],
  fmtp: CodecParameters['fmtp'],
): CodecParameters | undefined {
  const usable = candidates.filter((c) => Number(c.fmtp['packetization-mode'] ?? 0) === 1);
  const profile = String(fmtp['profile-level-id'] ?? '').toLowerCase();
  const sameProfile = (c: CodecParameters, length: number) =>
    String(c.fmtp['profile-level-id'] ?? '')
      .toLowerCase()
      .slice(0, length) === profile.slice(0, length);
  return usable.find((c) => sameProfile(c, 6)) ?? usable.find((c) => sameProfile(c, 2)) ?? usable[0];
}

/**
 * The extensions the SFU forwards for this kind that both the publisher sends and the subscriber
 * offered, with the subscriber's ids. The dependency descriptor only for AV1 (as in the server's
 * offers, media-engine.ts). transport-cc numbers the whole transport once: a section giving it
 * another id than the one already answered goes without it.
 */
function answeredExtensions(
  m: MediaSection,
  source: AnswerSource,
  transportCcId: number | undefined,
): HeaderExtension[] {
  const av1 = /\/av1$/i.test(source.codec.mimeType);
  const out: HeaderExtension[] = [];
  for (const forwarded of FORWARDED_EXTENSIONS[source.kind]) {
    if (forwarded.uri === EXTENSION_URI.dependencyDescriptor && !av1) continue;
    if (!source.headerExtensions.some((e) => e.uri === forwarded.uri)) continue;
    const offered = m.headerExtensions.find((e) => e.uri === forwarded.uri);
    if (!offered) continue;
    if (
      forwarded.uri === EXTENSION_URI.transportCc &&
      transportCcId !== undefined &&
      offered.id !== transportCcId
    )
      continue;
    out.push({ uri: forwarded.uri, id: offered.id });
  }
  return out;
}

function answerSdp(
  input: { offer: RemoteDescription; local: LocalTransportParameters; cname: string },
  tracks: AnsweredTrack[],
): string {
  const { offer, local } = input;
  const setup = offer.setup === 'passive' ? 'active' : 'passive';
  const lines = sessionLines(tracks.map((t) => t.mid));
  // RFC 8285 §6: mixed one- and two-byte headers, when offered (forwarded packets may carry both).
  if (offer.extmapAllowMixed) lines.push('a=extmap-allow-mixed');
  for (const m of offer.media) {
    const track = tracks.find((t) => t.mid === m.mid);
    lines.push(...(track ? sendingSection(m, track, local, setup, input.cname) : rejectedSection(m)));
  }
  return `${lines.join('\r\n')}\r\n`;
}

function sendingSection(
  m: MediaSection,
  t: AnsweredTrack,
  local: LocalTransportParameters,
  setup: 'active' | 'passive',
  cname: string,
): string[] {
  const ssrcs = t.rtxSsrc === undefined ? [t.ssrc] : [t.ssrc, t.rtxSsrc];
  return [
    `m=${t.kind} 9 ${m.protocol} ${payloadTypes(t.codec).join(' ')}`,
    'c=IN IP4 0.0.0.0',
    `a=mid:${t.mid}`,
    'a=sendonly',
    `a=msid:${t.streamId} ${t.trackId}`,
    ...transportLines(local, setup),
    'a=rtcp-mux',
    ...(m.rtcpRsize ? ['a=rtcp-rsize'] : []),
    ...t.headerExtensions.map((e) => `a=extmap:${e.id} ${e.uri}`),
    ...codecLines(t.codec),
    ...(t.rtxSsrc === undefined ? [] : [`a=ssrc-group:FID ${t.ssrc} ${t.rtxSsrc}`]),
    ...ssrcs.flatMap((ssrc) => [
      `a=ssrc:${ssrc} cname:${cname}`,
      `a=ssrc:${ssrc} msid:${t.streamId} ${t.trackId}`,
    ]),
  ];
}

/** RFC 8843 §7.3.3 / RFC 3264 §6: a rejected section keeps its kind, protocol and one format. */
function rejectedSection(m: MediaSection): string[] {
  const format =
    m.kind === 'application' ? (m.formats ?? 'webrtc-datachannel') : String(m.codecs[0]?.payloadType ?? 0);
  return [`m=${m.kind} 0 ${m.protocol} ${format}`, 'c=IN IP4 0.0.0.0', `a=mid:${m.mid}`, 'a=inactive'];
}
