import { parse } from 'sdp-transform';
import { SfuError } from '../../lib/errors.ts';
import type { RemoteTransportParameters } from '../media-transport.ts';
import type { CodecParameters, HeaderExtension } from './capabilities.ts';

const MAX_SDP_BYTES = 100_000;
const MAX_MEDIA_SECTIONS = 64;

export interface MediaSection {
  mid: string;
  kind: 'audio' | 'video' | 'application';
  port: number;
  protocol: string;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  codecs: CodecParameters[];
  headerExtensions: HeaderExtension[];
  /** Media SSRCs in order (RTX and FEC SSRCs of FID/FEC-FR groups left out). */
  ssrcs: number[];
  rids: string[];
  msid: { streamId: string; trackId: string } | undefined;
  rtcpMux: boolean;
  rtcpRsize: boolean;
  /** m=application: `a=sctp-port` (RFC 8841 §5; default 5000) and `a=max-message-size` (§6). */
  sctpPort?: number | undefined;
  maxMessageSize?: number | undefined;
  /** The m-line's formats (`webrtc-datachannel` for data channels). */
  formats?: string | undefined;
}

export interface RemoteDescription {
  iceUfrag: string;
  icePwd: string;
  fingerprints: Array<{ algorithm: string; value: string }>;
  setup: 'active' | 'passive' | 'actpass';
  bundle: string[];
  media: MediaSection[];
  /** RFC 8285 §6 `a=extmap-allow-mixed`: one- and two-byte extension headers may be mixed. */
  extmapAllowMixed: boolean;
}

type Parsed = ReturnType<typeof parse>;
type ParsedMedia = Parsed['media'][number];

function invalid(message: string): never {
  throw new SfuError('invalid_argument', `invalid SDP: ${message}`);
}

/** Parses and checks a peer's SDP (RFC 8829 / RFC 8843 BUNDLE, rtcp-mux required). */
export function parseRemoteDescription(sdp: string): RemoteDescription {
  if (typeof sdp !== 'string' || sdp.length === 0) invalid('empty');
  if (Buffer.byteLength(sdp) > MAX_SDP_BYTES) invalid(`larger than ${MAX_SDP_BYTES} bytes`);
  let parsed: Parsed;
  try {
    parsed = parse(sdp);
  } catch {
    invalid('not parsable');
  }
  if (!Array.isArray(parsed.media) || parsed.media.length === 0) invalid('no media section');
  if (parsed.media.length > MAX_MEDIA_SECTIONS) invalid(`more than ${MAX_MEDIA_SECTIONS} media sections`);
  // The transport's attributes sit in the first section that has them: an answer rejecting its
  // first section (port 0, e.g. Firefox refusing a codec it lacks) carries them in the next one.
  const first = parsed.media.find((m) => m.port !== 0 && m.iceUfrag !== undefined) ?? parsed.media[0]!;
  // sdp-transform turns values that look like integers into numbers: an all-digit ufrag is still a string.
  const rawUfrag: unknown = parsed.iceUfrag ?? first.iceUfrag;
  const rawPwd: unknown = parsed.icePwd ?? first.icePwd;
  if (rawUfrag === undefined || rawUfrag === '' || rawPwd === undefined || rawPwd === '')
    invalid('missing a=ice-ufrag or a=ice-pwd');
  const iceUfrag = String(rawUfrag);
  const icePwd = String(rawPwd);
  const fingerprint = parsed.fingerprint ?? first.fingerprint;
  if (!fingerprint?.hash) invalid('missing a=fingerprint');
  const setup = (first.setup ?? parsed.setup ?? 'actpass') as RemoteDescription['setup'];
  if (!['active', 'passive', 'actpass'].includes(setup)) invalid(`unknown a=setup:${setup}`);
  // `a=group:BUNDLE 0` (one numeric mid) comes back from sdp-transform as the number 0.
  const bundleMids = (parsed.groups ?? []).find((g) => g.type === 'BUNDLE')?.mids as unknown;
  const bundle = bundleMids === undefined ? [] : String(bundleMids).split(' ').filter(Boolean);
  if (parsed.media.length > 1 && bundle.length === 0)
    invalid('several media sections without a=group:BUNDLE');
  const media = parsed.media.map((m, i) => parseSection(m, i, bundle));
  return {
    iceUfrag,
    icePwd,
    fingerprints: [{ algorithm: fingerprint.type, value: fingerprint.hash }],
    setup,
    bundle,
    media,
    extmapAllowMixed:
      parsed.extmapAllowMixed !== undefined || parsed.media.some((m) => m.extmapAllowMixed !== undefined),
  };
}

function parseSection(m: ParsedMedia, index: number, bundle: string[]): MediaSection {
  if (m.type !== 'audio' && m.type !== 'video' && m.type !== 'application')
    invalid(`m-line ${index} of unknown kind '${m.type}'`);
  const mid = m.mid === undefined ? String(index) : String(m.mid);
  // RFC 8843 §6: port 0 with a=bundle-only in the BUNDLE group is a bundled section, not a
  // rejected one (Firefox writes every section after the first so with max-bundle); it is read
  // with the usual port 9, as the transport is the bundle's.
  const port = m.port === 0 && m.bundleOnly !== undefined && bundle.includes(mid) ? 9 : m.port;
  const rejected = port === 0;
  if (!rejected && m.type !== 'application' && !m.rtcpMux) invalid(`m-line ${mid} without a=rtcp-mux`);
  const msid = msidOf(m);
  return {
    mid,
    kind: m.type,
    port,
    protocol: m.protocol,
    direction: (m.direction ?? 'sendrecv') as MediaSection['direction'],
    codecs: m.type === 'application' ? [] : codecsOf(m),
    headerExtensions: (m.ext ?? []).map((e) => ({ uri: e.uri, id: e.value })),
    ssrcs: mediaSsrcs(m),
    rids: (m.rids ?? []).filter((r) => r.direction === 'send').map((r) => String(r.id)),
    msid,
    rtcpMux: Boolean(m.rtcpMux),
    rtcpRsize: Boolean(m.rtcpRsize),
    ...(m.type === 'application' ? applicationOf(m) : {}),
  };
}

function applicationOf(m: ParsedMedia): Pick<MediaSection, 'sctpPort' | 'maxMessageSize' | 'formats'> {
  const port = Number(m.sctpPort);
  const max = Number(m.maxMessageSize);
  return {
    sctpPort: Number.isInteger(port) && port > 0 && port < 65_536 ? port : undefined,
    maxMessageSize: Number.isInteger(max) && max >= 0 ? max : undefined,
    formats: m.payloads === undefined ? undefined : String(m.payloads),
  };
}

/**
 * `a=msid:<stream> <track>` (RFC 8830). sdp-transform 3 returns it as `[{id, appdata}]` although its
 * typings say string; both forms are read. A missing track id means no usable msid.
 */
function msidOf(m: ParsedMedia): { streamId: string; trackId: string } | undefined {
  // sdp-transform's msid pattern takes only [\w-]: Firefox's `{uuid} {uuid}` (valid token chars,
  // RFC 8830 §2) lands among its unparsed lines, where it is read here.
  const unparsed = (m.invalid ?? []).map((l) => /^msid:(\S{1,64}) (\S{1,64})$/.exec(String(l.value)));
  const braced = unparsed.find((match) => match !== null);
  if (m.msid === undefined && braced) return { streamId: braced[1]!, trackId: braced[2]! };
  const raw = m.msid as unknown;
  const first = Array.isArray(raw) ? (raw[0] as { id?: unknown; appdata?: unknown } | undefined) : undefined;
  const [streamId, trackId] =
    typeof raw === 'string' ? raw.split(' ') : [String(first?.id ?? ''), String(first?.appdata ?? '')];
  return streamId && trackId ? { streamId, trackId } : undefined;
}

function codecsOf(m: ParsedMedia): CodecParameters[] {
  // sdp-transform turns an all-digit fmtp value (`a=fmtp:111 1`) into a number.
  const fmtp = new Map((m.fmtp ?? []).map((f) => [f.payload, parseFmtp(String(f.config as unknown))]));
  const feedback = (m.rtcpFb ?? []).map((f) => ({
    payload: String(f.payload),
    type: f.type,
    parameter: f.subtype,
  }));
  const all = (m.rtp ?? []).map((r) => ({
    mimeType: `${m.type}/${r.codec}`,
    payloadType: r.payload,
    clockRate: r.rate ?? 90_000,
    channels: r.encoding === undefined ? undefined : Number(r.encoding),
    fmtp: fmtp.get(r.payload) ?? {},
    rtcpFeedback: feedback
      .filter((f) => f.payload === String(r.payload) || f.payload === '*')
      .map(({ type, parameter }) => ({ type, parameter })),
    rtxPayloadType: undefined as number | undefined,
  }));
  // Video red/ulpfec/flexfec are FEC schemes we do not take; audio/red (Opus RED) is a codec choice.
  const media = all.filter(
    (c) => !/\/(rtx|ulpfec|flexfec-03)$/i.test(c.mimeType) && !/^video\/red$/i.test(c.mimeType),
  );
  for (const rtx of all.filter((c) => /\/rtx$/i.test(c.mimeType))) {
    const target = media.find((c) => c.payloadType === Number(rtx.fmtp.apt));
    if (target) target.rtxPayloadType = rtx.payloadType;
  }
  return media;
}

function parseFmtp(config: string): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const part of config.split(';')) {
    const [key, value] = part.split('=').map((s) => s.trim());
    if (!key || value === undefined) continue;
    out[key] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

function mediaSsrcs(m: ParsedMedia): number[] {
  const secondary = new Set<number>();
  for (const group of m.ssrcGroups ?? []) {
    if (group.semantics !== 'FID' && group.semantics !== 'FEC-FR') continue;
    // sdp-transform turns a group of one all-digit SSRC into a number.
    for (const s of String(group.ssrcs as unknown)
      .split(' ')
      .slice(1))
      secondary.add(Number(s));
  }
  const seen: number[] = [];
  for (const line of m.ssrcs ?? []) {
    const ssrc = Number(line.id);
    if (!secondary.has(ssrc) && !seen.includes(ssrc)) seen.push(ssrc);
  }
  return seen;
}

export function remoteTransportParameters(desc: RemoteDescription): RemoteTransportParameters {
  return { iceUfrag: desc.iceUfrag, icePwd: desc.icePwd, fingerprints: desc.fingerprints, setup: desc.setup };
}
