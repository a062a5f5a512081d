/** What the SFU receives and forwards. Payload types are the server's own in its offers. */

export interface CodecParameters {
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number | undefined;
  fmtp: Record<string, string | number>;
  rtcpFeedback: Array<{ type: string; parameter?: string | undefined }>;
  rtxPayloadType?: number | undefined;
  /**
   * audio/red only (RFC 2198): the codec its blocks carry, negotiated beside it; red's fmtp is
   * `pt/pt` of this codec's payload type. The SFU forwards RED packets as they are, so a
   * subscriber must be offered the same pair with the same inner payload type.
   */
  redundantCodec?: CodecParameters | undefined;
}

export interface HeaderExtension {
  uri: string;
  id: number;
}

const VIDEO_FEEDBACK = [
  { type: 'goog-remb' },
  { type: 'transport-cc' },
  { type: 'ccm', parameter: 'fir' },
  { type: 'nack' },
  { type: 'nack', parameter: 'pli' },
];

const OPUS: CodecParameters = {
  mimeType: 'audio/opus',
  payloadType: 111,
  clockRate: 48_000,
  channels: 2,
  fmtp: { minptime: 10, useinbandfec: 1 },
  rtcpFeedback: [{ type: 'transport-cc' }],
};

export const SERVER_CAPABILITIES: { codecs: CodecParameters[]; headerExtensions: HeaderExtension[] } = {
  codecs: [
    OPUS,
    // Opus RED (RFC 2198, `red/48000/2` with fmtp `111/111`): kept when the publisher prefers it;
    // subscribers are offered red + Opus with the same payload types, the payload forwarded as is.
    {
      mimeType: 'audio/red',
      payloadType: 63,
      clockRate: 48_000,
      channels: 2,
      fmtp: {},
      rtcpFeedback: [],
      redundantCodec: OPUS,
    },
    {
      mimeType: 'video/VP8',
      payloadType: 96,
      clockRate: 90_000,
      fmtp: {},
      rtcpFeedback: VIDEO_FEEDBACK,
      rtxPayloadType: 97,
    },
    {
      mimeType: 'video/VP9',
      payloadType: 98,
      clockRate: 90_000,
      fmtp: { 'profile-id': 0 },
      rtcpFeedback: VIDEO_FEEDBACK,
      rtxPayloadType: 99,
    },
    {
      mimeType: 'video/H264',
      payloadType: 102,
      clockRate: 90_000,
      fmtp: { 'level-asymmetry-allowed': 1, 'packetization-mode': 1, 'profile-level-id': '42e01f' },
      rtcpFeedback: VIDEO_FEEDBACK,
      rtxPayloadType: 103,
    },
    {
      mimeType: 'video/AV1',
      payloadType: 45,
      clockRate: 90_000,
      fmtp: {},
      rtcpFeedback: VIDEO_FEEDBACK,
      rtxPayloadType: 46,
    },
  ],
  headerExtensions: [
    { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 },
    { uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', id: 2 },
    { uri: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id', id: 3 },
    { uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', id: 4 },
    { uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 5 },
    { uri: 'urn:3gpp:video-orientation', id: 6 },
    { uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', id: 7 },
    { uri: 'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension', id: 8 },
  ],
};

/** Header extension URIs the SFU reads or forwards. */
export const EXTENSION_URI = {
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  rid: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  absSendTime: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  audioLevel: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  videoOrientation: 'urn:3gpp:video-orientation',
  transportCc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  /** AV1 RTP spec Appendix A (the URI Chromium and the spec use). */
  dependencyDescriptor:
    'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
} as const;

/**
 * Extensions forwarded to subscribers, with the server's ids: audio level (active speaker in the
 * client), video orientation (rotated camera frames), abs-send-time, which the SFU rewrites with
 * its own send time for the subscriber's receive-side estimate (REMB), and transport-cc, whose
 * value the SFU rewrites with its own transport-wide sequence number per subscriber transport so
 * that the subscriber's feedback drives the SFU's send-side estimate. The AV1 dependency
 * descriptor is forwarded as the publisher wrote it (not rewritten: see docs/simulcast.md, AV1).
 */
export const FORWARDED_EXTENSIONS: Record<'audio' | 'video', HeaderExtension[]> = {
  audio: [
    { uri: EXTENSION_URI.absSendTime, id: 4 },
    { uri: EXTENSION_URI.audioLevel, id: 5 },
    { uri: EXTENSION_URI.transportCc, id: 7 },
  ],
  video: [
    { uri: EXTENSION_URI.absSendTime, id: 4 },
    { uri: EXTENSION_URI.videoOrientation, id: 6 },
    { uri: EXTENSION_URI.transportCc, id: 7 },
    { uri: EXTENSION_URI.dependencyDescriptor, id: 8 },
  ],
};

/** RTCP feedback we honour from publishers: the SFU sends REMB and transport-cc feedback to them. */
export const ACCEPTED_FEEDBACK = new Set(['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli']);

export function findCapability(mimeType: string): CodecParameters | undefined {
  return SERVER_CAPABILITIES.codecs.find((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase());
}
