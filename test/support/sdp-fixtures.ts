import { readFileSync } from 'node:fs';
import type { LocalTransportParameters } from '../../src/transport/media-transport.ts';

/** An SDP of test/fixtures/sdp (offers and answers as real browsers write them), with CRLF lines. */
export function sdpFixture(name: string): string {
  return readFileSync(new URL(`../fixtures/sdp/${name}.sdp`, import.meta.url), 'utf8').replace(
    /\r?\n/g,
    '\r\n',
  );
}

/** The server side of a negotiation in unit tests: ICE-lite credentials, a fingerprint, one host candidate. */
export const LOCAL_TRANSPORT: LocalTransportParameters = {
  iceUfrag: 'srvU',
  icePwd: 'server-password-0123456789',
  iceLite: true,
  fingerprint: { algorithm: 'sha-256', value: 'AB:'.repeat(31).concat('AB') },
  candidates: [
    {
      foundation: '1',
      component: 1,
      protocol: 'udp',
      priority: 2_130_706_431,
      ip: '127.0.0.1',
      port: 40_000,
      type: 'host',
    },
  ],
};

/** The msid track id of the camera of publisher-h264-only.sdp. */
export const H264_CAMERA_TRACK_ID = 'ab43ad0c-0680-49c8-8cdc-3820de2a5237';

/**
 * Chromium's offer of a camera in H264 (mid 1) and its VP8 backup (mid 3): the video section of
 * publisher-simulcast.sdp (VP8 first) added to publisher-h264-only.sdp, as the SDK's second
 * transceiver (a fresh msid track id) would make it. Published with `backupSections:
 * [{ mid: '3', primaryMid: '1' }]`.
 */
export function h264WithBackupOffer(): string {
  const vp8 = sdpFixture('publisher-simulcast');
  const section = vp8.slice(vp8.indexOf('m=video'), vp8.indexOf('m=application'));
  const backup = section
    .replace('a=mid:1\r\n', 'a=mid:3\r\n')
    .replaceAll('562bfadd-2fae-4aa6-8420-63dc0261eca5', 'backup-track');
  return `${sdpFixture('publisher-h264-only').replace('a=group:BUNDLE 0 1 2', 'a=group:BUNDLE 0 1 2 3')}${backup}`;
}

/** The video sections of a subscriber offer: codec (first rtpmap) and msid track id. */
export function offeredVideo(sdp: string): Array<{ codec: string; trackId: string }> {
  return sdp
    .split(/^m=/m)
    .filter((m) => m.startsWith('video'))
    .map((m) => ({
      codec: /a=rtpmap:\d+ ([\w-]+)\//.exec(m)?.[1] ?? '',
      trackId: /a=msid:\S+ (\S+)/.exec(m)?.[1] ?? '',
    }));
}
