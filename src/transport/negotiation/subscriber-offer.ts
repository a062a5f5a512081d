import { randomInt } from 'node:crypto';
import { SfuError } from '../../lib/errors.ts';
import type { LocalTransportParameters, RemoteTransportParameters } from '../media-transport.ts';
import type { CodecParameters } from './capabilities.ts';
import { parseRemoteDescription, remoteTransportParameters } from './parse.ts';
import { codecLines } from './publisher-answer.ts';
import { sessionLines, transportLines } from './sdp-lines.ts';

export interface OfferedTrack {
  kind: 'audio' | 'video';
  trackId: string;
  streamId: string;
  /** With the server's payload types (the SFU rewrites them per subscriber). */
  codec: CodecParameters;
  ssrc: number;
  cname: string;
}

/** What a subscriber connection has been offered so far; mids never move (RFC 8829 §5.2.2). */
export interface SubscriberSdpState {
  sessionId: string;
  version: number;
  sections: Array<OfferedTrack & { mid: string; active: boolean }>;
}

/**
 * A server offer sending `tracks` to a subscriber: one sendonly section each, with SSRC, msid and
 * cname, no header extensions (the SFU strips them), ICE-lite and `actpass`. Given the previous
 * state, it adds sections after the existing ones and increases the version.
 */
export function createSubscriberOffer(input: {
  local: LocalTransportParameters;
  state?: SubscriberSdpState | undefined;
  tracks: OfferedTrack[];
}): { sdp: string; state: SubscriberSdpState } {
  const previous = input.state;
  const state: SubscriberSdpState = {
    sessionId: previous?.sessionId ?? String(randomInt(1, 2 ** 47)),
    version: (previous?.version ?? 1) + 1,
    sections: [...(previous?.sections ?? [])],
  };
  for (const t of input.tracks)
    state.sections.push({ ...t, mid: String(state.sections.length), active: true });
  const active = state.sections.filter((s) => s.active).map((s) => s.mid);
  const lines = sessionLines(active, state.sessionId, state.version);
  for (const s of state.sections) lines.push(...section(s, input.local));
  return { sdp: `${lines.join('\r\n')}\r\n`, state };
}

function section(s: SubscriberSdpState['sections'][number], local: LocalTransportParameters): string[] {
  const pts =
    s.codec.rtxPayloadType === undefined
      ? [s.codec.payloadType]
      : [s.codec.payloadType, s.codec.rtxPayloadType];
  if (!s.active)
    return [`m=${s.kind} 0 UDP/TLS/RTP/SAVPF ${pts[0]}`, 'c=IN IP4 0.0.0.0', `a=mid:${s.mid}`, 'a=inactive'];
  // RTX is not sent yet (NACKs are answered with plain retransmissions): offer only the codec.
  const codec = { ...s.codec, rtxPayloadType: undefined };
  return [
    `m=${s.kind} 9 UDP/TLS/RTP/SAVPF ${codec.payloadType}`,
    'c=IN IP4 0.0.0.0',
    `a=mid:${s.mid}`,
    'a=sendonly',
    `a=msid:${s.streamId} ${s.trackId}`,
    ...transportLines(local, 'actpass'),
    'a=rtcp-mux',
    'a=rtcp-rsize',
    ...codecLines(codec),
    `a=ssrc:${s.ssrc} cname:${s.cname}`,
    `a=ssrc:${s.ssrc} msid:${s.streamId} ${s.trackId}`,
  ];
}

/** Checks a subscriber's answer against what we offered and returns its transport parameters. */
export function parseSubscriberAnswer(
  sdp: string,
  state: SubscriberSdpState,
): { remote: RemoteTransportParameters } {
  const answer = parseRemoteDescription(sdp);
  const offered = state.sections.map((s) => s.mid);
  const answered = answer.media.map((m) => m.mid);
  if (answered.length !== offered.length || answered.some((mid, i) => mid !== offered[i])) {
    throw new SfuError(
      'invalid_argument',
      `invalid SDP: the answer's sections (${answered.join(',')}) do not match the offer (${offered.join(',')})`,
    );
  }
  if (answer.setup === 'actpass')
    throw new SfuError('invalid_argument', 'invalid SDP: an answer must not say a=setup:actpass');
  return { remote: remoteTransportParameters(answer) };
}
