import { randomInt } from 'node:crypto';
import type { LocalTransportParameters } from '../media-transport.ts';

/** Session-level lines of our SDP: ICE-lite (RFC 8445 §5.1.1.1 via RFC 8839 §5.3) and BUNDLE. */
export function sessionLines(
  bundleMids: string[],
  sessionId = String(randomInt(1, 2 ** 47)),
  version = 2,
): string[] {
  const lines = ['v=0', `o=- ${sessionId} ${version} IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=ice-lite'];
  if (bundleMids.length > 0) lines.push(`a=group:BUNDLE ${bundleMids.join(' ')}`);
  lines.push('a=msid-semantic: WMS *');
  return lines;
}

/** ICE and DTLS lines of a media section (same in every bundled section). */
export function transportLines(
  local: LocalTransportParameters,
  setup: 'active' | 'passive' | 'actpass',
): string[] {
  const lines = [
    `a=ice-ufrag:${local.iceUfrag}`,
    `a=ice-pwd:${local.icePwd}`,
    `a=fingerprint:${local.fingerprint.algorithm} ${local.fingerprint.value}`,
    `a=setup:${setup}`,
  ];
  for (const c of local.candidates) {
    lines.push(
      `a=candidate:${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.ip} ${c.port} typ ${c.type}${c.tcpType ? ` tcptype ${c.tcpType}` : ''}`,
    );
  }
  lines.push('a=end-of-candidates');
  return lines;
}

/** RFC 8841: our SCTP port and the largest message we take (Chromium's own default). */
export const LOCAL_SCTP_PORT = 5000;
export const LOCAL_MAX_MESSAGE_SIZE = 262_144;

/** An m=application section for WebRTC data channels (RFC 8841 §4-6), bundled with the rest. */
export function applicationLines(
  mid: string,
  local: LocalTransportParameters,
  setup: 'active' | 'passive' | 'actpass',
): string[] {
  return [
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    `a=mid:${mid}`,
    ...transportLines(local, setup),
    `a=sctp-port:${LOCAL_SCTP_PORT}`,
    `a=max-message-size:${LOCAL_MAX_MESSAGE_SIZE}`,
  ];
}
