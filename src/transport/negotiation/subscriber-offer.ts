import { randomInt } from 'node:crypto';
import { SfuError } from '../../lib/errors.ts';
import type { LocalTransportParameters, RemoteTransportParameters } from '../media-transport.ts';
import type { CodecParameters, HeaderExtension } from './capabilities.ts';
import { type MediaSection, parseRemoteDescription, remoteTransportParameters } from './parse.ts';
import {
  codecLines,
  isDataChannelSection,
  type NegotiatedDataChannels,
  payloadTypes,
} from './publisher-answer.ts';
import { applicationLines, sessionLines, transportLines } from './sdp-lines.ts';

export interface OfferedTrack {
  kind: 'audio' | 'video';
  trackId: string;
  streamId: string;
  /** With the server's payload types (the SFU rewrites them per subscriber); RTX when it has one. */
  codec: CodecParameters;
  ssrc: number;
  /** SSRC of the RTX stream (RFC 4588), when `codec.rtxPayloadType` is set. */
  rtxSsrc?: number | undefined;
  cname: string;
  /** Header extensions sent on this track, with the server's ids. */
  headerExtensions: HeaderExtension[];
}

/** What a subscriber connection has been offered so far; mids never move (RFC 8829 §5.2.2). */
export interface SubscriberSdpState {
  sessionId: string;
  version: number;
  sections: Array<OfferedTrack & { mid: string; active: boolean }>;
  /**
   * The data channel section (m=application, mid `dc`), placed after the `position` track
   * sections that existed when it was first offered; it never moves.
   */
  application?: { mid: string; position: number } | undefined;
}

/** The mid of the data channel section in our subscriber offers. */
export const DATA_CHANNEL_MID = 'dc';

/**
 * A server offer sending `tracks` to a subscriber: one sendonly section each, with SSRC (and the
 * RTX SSRC in an FID group), msid, cname and the forwarded header extensions, ICE-lite and
 * `actpass`. Given the previous state, it adds sections after the existing ones and increases the
 * version.
 */
export function createSubscriberOffer(input: {
  local: LocalTransportParameters;
  state?: SubscriberSdpState | undefined;
  tracks: OfferedTrack[];
  /** Offer an m=application section for data channels (kept once offered). */
  dataChannels?: boolean;
}): { sdp: string; state: SubscriberSdpState } {
  const previous = input.state;
  const state: SubscriberSdpState = {
    sessionId: previous?.sessionId ?? String(randomInt(1, 2 ** 47)),
    version: (previous?.version ?? 1) + 1,
    sections: [...(previous?.sections ?? [])],
    application: previous?.application,
  };
  for (const t of input.tracks)
    state.sections.push({ ...t, mid: String(state.sections.length), active: true });
  if (input.dataChannels && !state.application)
    state.application = { mid: DATA_CHANNEL_MID, position: state.sections.length };
  const app = state.application;
  const active = state.sections.filter((s) => s.active).map((s) => s.mid);
  if (app) active.splice(state.sections.slice(0, app.position).filter((s) => s.active).length, 0, app.mid);
  const lines = sessionLines(active, state.sessionId, state.version);
  state.sections.forEach((s, i) => {
    if (app?.position === i) lines.push(...applicationLines(app.mid, input.local, 'actpass'));
    lines.push(...section(s, input.local));
  });
  if (app && app.position >= state.sections.length)
    lines.push(...applicationLines(app.mid, input.local, 'actpass'));
  return { sdp: `${lines.join('\r\n')}\r\n`, state };
}

function section(s: SubscriberSdpState['sections'][number], local: LocalTransportParameters): string[] {
  const pts =
    s.codec.rtxPayloadType === undefined
      ? [s.codec.payloadType]
      : [s.codec.payloadType, s.codec.rtxPayloadType];
  if (!s.active)
    return [`m=${s.kind} 0 UDP/TLS/RTP/SAVPF ${pts[0]}`, 'c=IN IP4 0.0.0.0', `a=mid:${s.mid}`, 'a=inactive'];
  const rtx = s.codec.rtxPayloadType !== undefined && s.rtxSsrc !== undefined ? s.rtxSsrc : undefined;
  const codec = rtx === undefined ? { ...s.codec, rtxPayloadType: undefined } : s.codec;
  const ssrcs = rtx === undefined ? [s.ssrc] : [s.ssrc, rtx];
  return [
    `m=${s.kind} 9 UDP/TLS/RTP/SAVPF ${payloadTypes(codec).join(' ')}`,
    'c=IN IP4 0.0.0.0',
    `a=mid:${s.mid}`,
    'a=sendonly',
    `a=msid:${s.streamId} ${s.trackId}`,
    ...transportLines(local, 'actpass'),
    'a=rtcp-mux',
    'a=rtcp-rsize',
    ...s.headerExtensions.map((e) => `a=extmap:${e.id} ${e.uri}`),
    ...codecLines(codec),
    ...(rtx === undefined ? [] : [`a=ssrc-group:FID ${s.ssrc} ${rtx}`]),
    ...ssrcs.flatMap((ssrc) => [
      `a=ssrc:${ssrc} cname:${s.cname}`,
      `a=ssrc:${ssrc} msid:${s.streamId} ${s.trackId}`,
    ]),
  ];
}

/** Checks a subscriber's answer against what we offered and returns its transport parameters. */
export function parseSubscriberAnswer(
  sdp: string,
  state: SubscriberSdpState,
): {
  remote: RemoteTransportParameters;
  rtxSsrcs: Set<number>;
  /** The answer accepted the data channel section. */
  dataChannels: NegotiatedDataChannels | undefined;
  /** Mime types the subscriber receives, from the sections it accepted (its receive codecs). */
  receiveCodecs: string[];
  /** Offered tracks the subscriber refused: it cannot decode their codec (port 0 or no such payload type). */
  refused: RefusedTrack[];
  /**
   * Per offered media SSRC, our extension ids its section's answer kept (RFC 8285 §6: an
   * extension is sent only where the answer lists it; Firefox keeps transport-cc on video only).
   */
  acceptedExtensions: Map<number, Set<number>>;
} {
  const answer = parseRemoteDescription(sdp);
  const offered = offeredMids(state);
  const answered = answer.media.map((m) => m.mid);
  if (answered.length !== offered.length || answered.some((mid, i) => mid !== offered[i])) {
    throw new SfuError(
      'invalid_argument',
      `invalid SDP: the answer's sections (${answered.join(',')}) do not match the offer (${offered.join(',')})`,
    );
  }
  if (answer.setup === 'actpass')
    throw new SfuError('invalid_argument', 'invalid SDP: an answer must not say a=setup:actpass');
  // RFC 4588 §8.6: RTX is used only where the answer kept its payload type.
  const rtxSsrcs = new Set<number>();
  const byMid = new Map(answer.media.map((m) => [m.mid, m]));
  state.sections.forEach((offered) => {
    const answered = byMid.get(offered.mid)!;
    const kept = answered.codecs.some(
      (c) => c.payloadType === offered.codec.payloadType && c.rtxPayloadType === offered.codec.rtxPayloadType,
    );
    if (offered.active && kept && offered.rtxSsrc !== undefined && answered.port !== 0)
      rtxSsrcs.add(offered.ssrc);
  });
  const acceptedExtensions = new Map<number, Set<number>>();
  for (const offered of state.sections) {
    const answered = byMid.get(offered.mid)!.headerExtensions;
    const kept = offered.headerExtensions.filter((e) =>
      answered.some((a) => a.id === e.id && a.uri === e.uri),
    );
    acceptedExtensions.set(offered.ssrc, new Set(kept.map((e) => e.id)));
  }
  const { receiveCodecs, refused } = answeredCodecs(state, byMid);
  const application = state.application ? byMid.get(state.application.mid) : undefined;
  const dataChannels =
    application && isDataChannelSection(application)
      ? {
          mid: application.mid,
          remotePort: application.sctpPort ?? 5000,
          maxMessageSize: application.maxMessageSize,
        }
      : undefined;
  return {
    remote: remoteTransportParameters(answer),
    rtxSsrcs,
    dataChannels,
    receiveCodecs,
    refused,
    acceptedExtensions,
  };
}

/** A track of our offer the subscriber's answer refused. */
export interface RefusedTrack {
  mid: string;
  kind: 'audio' | 'video';
  trackId: string;
  mimeType: string;
}

/**
 * What the answer says the subscriber can receive: the codecs of the sections it accepted, and the
 * active sections it refused. RFC 8829 §5.3.1: an answerer that supports none of a section's
 * formats rejects it with port 0 (Firefox without its OpenH264 plugin does so with H264).
 */
function answeredCodecs(
  state: SubscriberSdpState,
  byMid: Map<string, MediaSection>,
): { receiveCodecs: string[]; refused: RefusedTrack[] } {
  const receiveCodecs = new Set<string>();
  const refused: RefusedTrack[] = [];
  for (const offered of state.sections) {
    const answered = byMid.get(offered.mid)!;
    const kept =
      answered.port !== 0 && answered.codecs.some((c) => c.payloadType === offered.codec.payloadType);
    if (kept) receiveCodecs.add(offered.codec.mimeType);
    else if (offered.active)
      refused.push({
        mid: offered.mid,
        kind: offered.kind,
        trackId: offered.trackId,
        mimeType: offered.codec.mimeType,
      });
  }
  return { receiveCodecs: [...receiveCodecs], refused };
}

/** Every mid of our offer, in m-line order. */
function offeredMids(state: SubscriberSdpState): string[] {
  const mids = state.sections.map((s) => s.mid);
  if (state.application) mids.splice(state.application.position, 0, state.application.mid);
  return mids;
}
