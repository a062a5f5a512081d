import { type DtlsCertificate, generateDtlsCertificate } from '../../src/transport/dtls/dtls-certificate.ts';
import { UdpEndpoint } from '../../src/transport/udp-endpoint.ts';

/** Transport tests' server on loopback, and the certificates of it and of its scripted peer. */

/** A server's DTLS certificate and a scripted peer's, generated together. */
export function certificatePair(): Promise<[server: DtlsCertificate, peer: DtlsCertificate]> {
  return Promise.all([generateDtlsCertificate(), generateDtlsCertificate()]);
}

/** A UdpEndpoint (not bound yet) announcing 127.0.0.1, and with `ipv6` the IPv6 loopback ::1 too. */
export function loopbackUdpEndpoint(
  certificate: DtlsCertificate,
  options: { ipv6?: boolean } = {},
): UdpEndpoint {
  return new UdpEndpoint({
    certificate,
    announcedIps: ['127.0.0.1'],
    ...(options.ipv6 ? { announcedIps6: ['::1'] } : {}),
  });
}
