import { createHash, X509Certificate } from 'node:crypto';
import dtls from 'werift-dtls/lib/dtls/src/index.js';

/**
 * The DTLS certificate of a media worker: ECDSA P-256, self-signed, generated at start (WebRTC
 * authenticates it by the fingerprint in the SDP, RFC 8122 §5, not by a CA).
 */
export interface DtlsCertificate {
  certPem: string;
  keyPem: string;
  /** `sha-256` fingerprint as written in SDP: upper-case hex bytes joined by colons. */
  fingerprint: string;
}

export async function generateDtlsCertificate(): Promise<DtlsCertificate> {
  const { certPem, keyPem } = await dtls.CipherContext.createSelfSignedCertificateWithKey(
    { hash: dtls.HashAlgorithm.sha256_4, signature: dtls.SignatureAlgorithm.ecdsa_3 },
    dtls.NamedCurveAlgorithm.secp256r1_23,
  );
  return { certPem, keyPem, fingerprint: fingerprintOfDer(new X509Certificate(certPem).raw) };
}

export function fingerprintOfDer(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}
