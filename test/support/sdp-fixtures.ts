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
