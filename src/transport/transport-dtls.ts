import { mediaCounters, mediaCounting } from '../lib/media-counters.ts';
import type { DtlsCertificate } from './dtls/dtls-certificate.ts';
import { DtlsSession, type SrtpKeys } from './dtls/dtls-session.ts';
import type { IceLiteAgent, RemoteAddress } from './ice/ice-lite-agent.ts';
import type { RemoteTransportParameters } from './media-transport.ts';

/**
 * A WebRtcTransport's DTLS association (RFC 5763): our role and the peer's fingerprints as its SDP
 * says, the ClientHello that may come before that SDP, and the DTLS and SCTP packets counted.
 */

/** The browser answering `active` (or offering actpass, which we answer passive) is the client. */
export function dtlsRole(remote: RemoteTransportParameters | undefined): 'client' | 'server' {
  return remote?.setup === 'passive' ? 'client' : 'server';
}

/**
 * Starts DTLS with the peer (`remote`; undefined before its SDP, when it sent a ClientHello: we
 * are the server), its flights sent to the agent's selected address (none: dropped). `onData` is
 * given the SCTP packets it carries.
 */
export function startDtls(options: {
  certificate: DtlsCertificate;
  remote: RemoteTransportParameters | undefined;
  agent: IceLiteAgent;
  sender: { send(datagram: Buffer, to: RemoteAddress): void };
  onConnected: (keys: SrtpKeys) => void;
  onFailed: () => void;
  onData: (data: Buffer) => void;
}): DtlsSession {
  const { remote, agent, sender, onFailed, onData } = options;
  const dtls = new DtlsSession({
    certificate: options.certificate,
    role: dtlsRole(remote),
    remoteFingerprints: remote ? sha256Fingerprints(remote) : undefined,
    send: (datagram) => {
      const to = agent.selected;
      if (!to) return;
      if (mediaCounting.on) {
        mediaCounters.dtlsPacketsSent++;
        mediaCounters.dtlsBytesSent += datagram.length;
      }
      sender.send(datagram, to);
    },
    onConnected: options.onConnected,
    onFailed: () => {
      if (mediaCounting.on) mediaCounters.dtlsFailed++;
      onFailed();
    },
    onData: (data) => {
      if (mediaCounting.on) {
        mediaCounters.sctpPacketsReceived++;
        mediaCounters.sctpBytesReceived += data.length;
      }
      onData(data);
    },
  });
  dtls.start();
  return dtls;
}

export function sha256Fingerprints(remote: RemoteTransportParameters): string[] {
  return remote.fingerprints.filter((f) => f.algorithm.toLowerCase() === 'sha-256').map((f) => f.value);
}

/** RFC 6347 §4.1, §4.2.2: a plaintext (epoch 0) handshake record whose first message is a ClientHello. */
export function isClientHello(datagram: Buffer): boolean {
  return (
    datagram.length > 25 && datagram[0] === 22 && datagram[3] === 0 && datagram[4] === 0 && datagram[13] === 1
  );
}
