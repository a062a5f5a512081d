/**
 * The SDP that WHIP (RFC 9725) reads beside the SFU's own negotiation: what an offer sends and an
 * answer accepts, and the Trickle ICE fragments (`application/trickle-ice-sdpfrag`, RFC 8840 §9)
 * of RFC 9725 §4.3: the client's candidates or new ICE credentials in, our credentials and
 * candidates out. WHEP (draft-ietf-wish-whep) reads the same. Pure text functions; a session's
 * full SDP stays with its owner.
 */

export const SDP_MIME = 'application/sdp';
export const SDP_FRAGMENT_MIME = 'application/trickle-ice-sdpfrag';

export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

export interface FragmentCandidate {
  /** `candidate:…` (the attribute's value, without `a=`). */
  candidate: string;
  /** The `a=mid` of the media section the candidate is listed in; null when listed before any. */
  mid: string | null;
}

export interface IceFragment {
  /** The credentials the fragment carries (both, or none: RFC 8840 §9 asks for both). */
  credentials: IceCredentials | undefined;
  candidates: FragmentCandidate[];
  endOfCandidates: boolean;
}

const LINE = /\r?\n/;

function attribute(line: string, name: string): string | undefined {
  const prefix = `a=${name}:`;
  return line.startsWith(prefix) ? line.slice(prefix.length).trim() : undefined;
}

/** Whether `text` is an SDP description at all (RFC 8866 §5: it starts with `v=0`). */
export function isSdp(text: string): boolean {
  return /^v=0\r?\n/.test(text);
}

/** The first `a=ice-ufrag` and `a=ice-pwd` of a description or fragment. */
export function iceCredentials(sdp: string): IceCredentials | undefined {
  let ufrag: string | undefined;
  let pwd: string | undefined;
  for (const line of sdp.split(LINE)) {
    ufrag ??= attribute(line, 'ice-ufrag');
    pwd ??= attribute(line, 'ice-pwd');
  }
  return ufrag && pwd ? { ufrag, pwd } : undefined;
}

/** Reads a client's fragment; a TypeError when it is none (no credentials, candidates or end). */
export function parseIceFragment(text: string): IceFragment {
  const candidates: FragmentCandidate[] = [];
  let mid: string | null = null;
  let endOfCandidates = false;
  for (const line of text.split(LINE)) {
    const value = attribute(line, 'mid');
    if (value !== undefined) mid = value;
    else if (line.startsWith('a=candidate:')) candidates.push({ candidate: line.slice(2).trim(), mid });
    else if (line.trim() === 'a=end-of-candidates') endOfCandidates = true;
  }
  const credentials = iceCredentials(text);
  if (!credentials && candidates.length === 0 && !endOfCandidates)
    throw new TypeError('not an ICE fragment: no a=ice-ufrag/a=ice-pwd, a=candidate or a=end-of-candidates');
  return { credentials, candidates, endOfCandidates };
}

/** The `a=mid` values of a description's media sections, in order (their m-line indexes). */
export function mediaMids(sdp: string): string[] {
  return sdp
    .split(LINE)
    .map((line) => attribute(line, 'mid'))
    .filter((mid): mid is string => mid !== undefined);
}

/**
 * The client's earlier offer as an ICE restart offer: every `a=ice-ufrag`/`a=ice-pwd` replaced by
 * the new credentials and its candidates dropped (RFC 9725 §4.3.2: all else stays negotiated).
 */
export function restartOffer(offer: string, credentials: IceCredentials): string {
  return withIceCredentials(offer, credentials, { dropCandidates: true });
}

/**
 * `sdp` with every `a=ice-ufrag`/`a=ice-pwd` replaced by `credentials`, all else as it was (an
 * answer after an ICE restart keeps its candidates; an offer's may be dropped).
 */
export function withIceCredentials(
  sdp: string,
  credentials: IceCredentials,
  options: { dropCandidates?: boolean } = {},
): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(LINE).filter((line) => !options.dropCandidates || !line.startsWith('a=candidate:'));
  return lines
    .map((line) => {
      if (line.startsWith('a=ice-ufrag:')) return `a=ice-ufrag:${credentials.ufrag}`;
      if (line.startsWith('a=ice-pwd:')) return `a=ice-pwd:${credentials.pwd}`;
      return line;
    })
    .join(eol);
}

/**
 * Our side of an ICE restart (RFC 9725 §4.3.2): the answer's ICE-lite flag, credentials and the
 * candidates of its first media section (the bundle's), with that section's m-line and mid.
 */
export function answerFragment(answer: string): string {
  const lines = answer.split(LINE);
  const out: string[] = [];
  if (lines.includes('a=ice-lite')) out.push('a=ice-lite');
  const credentials = iceCredentials(answer);
  if (credentials) out.push(`a=ice-ufrag:${credentials.ufrag}`, `a=ice-pwd:${credentials.pwd}`);
  const first = lines.findIndex((line) => line.startsWith('m='));
  if (first < 0) return `${out.join('\r\n')}\r\n`;
  const next = lines.findIndex((line, i) => i > first && line.startsWith('m='));
  const section = lines.slice(first, next < 0 ? undefined : next);
  const [kind] = section[0]!.slice(2).split(' ');
  out.push(`m=${kind} 9 UDP/TLS/RTP/SAVPF 0`);
  for (const line of section) {
    if (line.startsWith('a=mid:') || line.startsWith('a=candidate:') || line === 'a=end-of-candidates')
      out.push(line);
  }
  return `${out.join('\r\n')}\r\n`;
}

type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/**
 * Which kinds of media a description's live sections (port not 0) have with one of `directions`
 * (no a= direction means sendrecv, RFC 3264 §5.1): what an offer sends (`sendrecv`, `sendonly`),
 * what an answer accepts to receive (`sendrecv`, `recvonly`).
 */
export function mediaKinds(sdp: string, directions: Direction[]): { audio: boolean; video: boolean } {
  const sections = sdp.split(/\r?\n(?=m=)/).slice(1);
  const kinds = { audio: false, video: false };
  for (const section of sections) {
    const mline = /^m=(audio|video) (\d+)/.exec(section);
    if (!mline || mline[2] === '0') continue;
    const direction = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(section)?.[1] ?? 'sendrecv';
    if (directions.includes(direction as Direction)) kinds[mline[1] as 'audio' | 'video'] = true;
  }
  return kinds;
}
