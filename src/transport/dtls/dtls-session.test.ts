import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { nativeAddon } from '../srtp/native-addon.ts';
import { type DtlsCertificate, generateDtlsCertificate } from './dtls-certificate.ts';
import { DtlsSession, type SrtpKeys } from './dtls-session.ts';

function pair(
  serverCert: DtlsCertificate,
  clientCert: DtlsCertificate,
  options: { serverAccepts?: string } = {},
) {
  let server: DtlsSession;
  let client: DtlsSession;
  const result = {
    server: Promise.withResolvers<SrtpKeys>(),
    client: Promise.withResolvers<SrtpKeys>(),
  };
  server = new DtlsSession({
    certificate: serverCert,
    role: 'server',
    remoteFingerprints: [options.serverAccepts ?? clientCert.fingerprint],
    send: (d) => setImmediate(() => client.handle(d)),
    onConnected: (k) => result.server.resolve(k),
    onFailed: (r) => result.server.reject(new Error(r)),
  });
  client = new DtlsSession({
    certificate: clientCert,
    role: 'client',
    remoteFingerprints: [serverCert.fingerprint],
    send: (d) => setImmediate(() => server.handle(d)),
    onConnected: (k) => result.client.resolve(k),
    onFailed: (r) => result.client.reject(new Error(r)),
  });
  client.start();
  return { server, client, serverKeys: result.server.promise, clientKeys: result.client.promise };
}

describe('DtlsSession', () => {
  let a: DtlsCertificate;
  let b: DtlsCertificate;
  before(async () => {
    [a, b] = await Promise.all([generateDtlsCertificate(), generateDtlsCertificate()]);
  });

  it('generateDtlsCertificate() gives a PEM pair and an SDP-style sha-256 fingerprint', () => {
    assert.match(a.certPem, /BEGIN CERTIFICATE/);
    assert.match(a.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.notEqual(a.fingerprint, b.fingerprint);
  });

  it('a handshake gives both sides matching SRTP keys, in the profile cheapest where SRTP runs', async () => {
    const { server, client, serverKeys, clientKeys } = pair(a, b);
    const [s, c] = await Promise.all([serverKeys, clientKeys]);
    // GCM with the native addon, AES-CM + HMAC-SHA1 in JavaScript
    const expected = nativeAddon() ? 0x0007 : 0x0001;
    assert.equal(s.profile, expected);
    assert.equal(c.profile, expected);
    assert.deepEqual(s.localKey, c.remoteKey);
    assert.deepEqual(s.localSalt, c.remoteSalt);
    assert.deepEqual(s.remoteKey, c.localKey);
    assert.equal(s.localKey.length, 16);
    assert.equal(s.localSalt.length, expected === 0x0007 ? 12 : 14);
    assert.notDeepEqual(s.localKey, s.remoteKey);
    server.close();
    client.close();
  });

  it('a certificate that does not match the SDP fingerprint fails the session', async () => {
    const wrong = `${'AA:'.repeat(31)}AA`;
    const { server, client, serverKeys, clientKeys } = pair(a, b, { serverAccepts: wrong });
    await assert.rejects(serverKeys, /does not match the SDP fingerprint/);
    clientKeys.catch(() => undefined);
    server.close();
    client.close();
  });

  // The certificate travels in the clear: whoever saw it can present it. Only its key proves the
  // peer (the signature werift-dtls does not check, handshake-proof.ts).
  it("a client presenting another peer's certificate without its key fails the server side", async () => {
    const impostor = { ...b, keyPem: a.keyPem };
    const { server, client, serverKeys, clientKeys } = pair(a, impostor);
    await assert.rejects(serverKeys, /CertificateVerify signature does not verify/);
    clientKeys.catch(() => undefined);
    server.close();
    client.close();
  });

  it("a server presenting another peer's certificate without its key fails the client side", async () => {
    const impostor = { ...a, keyPem: b.keyPem };
    const { server, client, serverKeys, clientKeys } = pair(impostor, b);
    await assert.rejects(clientKeys, /ServerKeyExchange signature does not verify/);
    serverKeys.catch(() => undefined);
    server.close();
    client.close();
  });

  it('garbage records do not throw', () => {
    const session = new DtlsSession({
      certificate: a,
      role: 'server',
      remoteFingerprints: [b.fingerprint],
      send: () => undefined,
      onConnected: () => assert.fail('no handshake happened'),
      onFailed: () => undefined,
    });
    for (const size of [0, 1, 13, 100]) session.handle(Buffer.alloc(size, 0x16));
    session.handle(Buffer.from('not dtls at all'));
    session.close();
  });
});
