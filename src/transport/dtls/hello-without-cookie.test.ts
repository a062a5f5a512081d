import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type DtlsCertificate, generateDtlsCertificate } from './dtls-certificate.ts';
import { DtlsSession, type SrtpKeys } from './dtls-session.ts';

const HELLO_VERIFY_REQUEST = 3;
const SERVER_HELLO = 2;
const CLIENT_HELLO = 1;

/** Handshake type and message_seq of a plaintext (epoch 0) handshake record; undefined for others. */
function handshakeOf(record: Buffer): { type: number; messageSeq: number } | undefined {
  if (record.length < 25 || record[0] !== 22 || record.readUInt16BE(3) !== 0) return undefined;
  return { type: record[13]!, messageSeq: record.readUInt16BE(17) };
}

/** A server and a client DtlsSession; `duplicateHello`: every ClientHello reaches the server twice. */
function handshake(serverCert: DtlsCertificate, clientCert: DtlsCertificate, duplicateHello: boolean) {
  const fromServer: Buffer[] = [];
  let client: DtlsSession;
  const keys = { server: Promise.withResolvers<SrtpKeys>(), client: Promise.withResolvers<SrtpKeys>() };
  const server = new DtlsSession({
    certificate: serverCert,
    role: 'server',
    remoteFingerprints: [clientCert.fingerprint],
    send: (d) => {
      fromServer.push(Buffer.from(d));
      setImmediate(() => client.handle(d));
    },
    onConnected: (k) => keys.server.resolve(k),
    onFailed: (r) => keys.server.reject(new Error(r)),
  });
  client = new DtlsSession({
    certificate: clientCert,
    role: 'client',
    remoteFingerprints: [serverCert.fingerprint],
    send: (d) => {
      const copies = duplicateHello && handshakeOf(d)?.type === CLIENT_HELLO ? 2 : 1;
      for (let i = 0; i < copies; i++) setImmediate(() => server.handle(Buffer.from(d)));
    },
    onConnected: (k) => keys.client.resolve(k),
    onFailed: (r) => keys.client.reject(new Error(r)),
  });
  client.start();
  return { server, client, fromServer, serverKeys: keys.server.promise, clientKeys: keys.client.promise };
}

describe('DTLS server without the cookie exchange', () => {
  let a: DtlsCertificate;
  let b: DtlsCertificate;
  before(async () => {
    [a, b] = await Promise.all([generateDtlsCertificate(), generateDtlsCertificate()]);
  });

  it('answers the ClientHello with its ServerHello flight (message_seq 0), no HelloVerifyRequest, and the handshake completes', async () => {
    const h = handshake(a, b, false);
    const [s, c] = await Promise.all([h.serverKeys, h.clientKeys]);
    assert.deepEqual(s.localKey, c.remoteKey);
    assert.deepEqual(s.remoteKey, c.localKey);
    assert.deepEqual(handshakeOf(h.fromServer[0]!), { type: SERVER_HELLO, messageSeq: 0 });
    assert.equal(
      h.fromServer.some((d) => handshakeOf(d)?.type === HELLO_VERIFY_REQUEST),
      false,
    );
    h.server.close();
    h.client.close();
  });

  it('a retransmitted ClientHello gets the same flight again (same ServerHello), and the handshake completes', async () => {
    const h = handshake(a, b, true);
    const [s, c] = await Promise.all([h.serverKeys, h.clientKeys]);
    assert.deepEqual(s.localKey, c.remoteKey);
    const hellos = h.fromServer.filter((d) => handshakeOf(d)?.type === SERVER_HELLO);
    assert.equal(hellos.length, 2, 'the flight was sent twice');
    assert.deepEqual(hellos[0], hellos[1], 'not renegotiated (same random, same record)');
    h.server.close();
    h.client.close();
  });
});
