import assert from 'node:assert/strict';
import { randomBytes, sign, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { before, describe, it } from 'node:test';
import { type DtlsCertificate, generateDtlsCertificate } from './dtls-certificate.ts';
import {
  checkPeerProof,
  type HandshakeMessage,
  HandshakeWitness,
  prfSha256,
  verifyData,
  type WeriftSocketView,
} from './handshake-proof.ts';

const require = createRequire(import.meta.url);
const weriftPrf = require('werift-dtls/lib/dtls/src/cipher/prf.js') as {
  prfPHash: (secret: Buffer, seed: Buffer, bytes: number) => Buffer;
  prfVerifyDataClient: (masterSecret: Buffer, handshakes: Buffer) => Buffer;
  prfVerifyDataServer: (masterSecret: Buffer, handshakes: Buffer) => Buffer;
};

let seq = 0;
function message(type: number, fragment: Buffer): HandshakeMessage {
  const header = Buffer.alloc(12);
  header[0] = type;
  header.writeUIntBE(fragment.length, 1, 3);
  const messageSeq = seq++;
  header.writeUInt16BE(messageSeq, 4);
  header.writeUIntBE(fragment.length, 9, 3);
  return {
    msg_type: type,
    message_seq: messageSeq,
    fragment,
    serialize: () => Buffer.concat([header, fragment]),
  };
}

function serialize(messages: HandshakeMessage[]): Buffer {
  return Buffer.concat(messages.map((m) => m.serialize()));
}

/** A signature field: hash sha256 (4), ECDSA (3), length, signature. */
function signatureField(data: Buffer, keyPem: string, algorithm = 3): Buffer {
  const signature = sign('sha256', data, keyPem);
  const head = Buffer.from([4, algorithm, 0, 0]);
  head.writeUInt16BE(signature.length, 2);
  return Buffer.concat([head, signature]);
}

interface Handshake {
  socket: WeriftSocketView;
  witness: HandshakeWitness;
  /** Messages from the peer, through werift's entry point (and so the witness). */
  deliver: (messages: HandshakeMessage[]) => Promise<void>;
  /** One of our own messages, which werift caches as it sends it. */
  send: (message: HandshakeMessage) => void;
}

/**
 * A socket view with werift's shape: its handshake cache, and an entry point that caches what it
 * is handed, except the server's Finished when we are the client (werift's client does not).
 */
function fakeSocket(
  peer: DtlsCertificate,
  masterSecret: Buffer,
  localRandom: Buffer,
  role = 'server',
): Handshake {
  const cache: HandshakeMessage[] = [];
  const socket: WeriftSocketView = {
    onHandleHandshakes: async (assembled) => {
      for (const m of assembled) if (role === 'server' || m.msg_type !== 20) cache.push(m);
    },
    dtls: {
      get sortedHandshakeCache() {
        return [...cache];
      },
    },
    cipher: { masterSecret, localRandom: { serialize: () => localRandom } },
    remoteCertificate: new X509Certificate(peer.certPem).raw,
  };
  const witness = new HandshakeWitness(socket);
  return {
    socket,
    witness,
    deliver: (messages) => socket.onHandleHandshakes(messages),
    send: (m) => cache.push(m),
  };
}

describe('handshake-proof', () => {
  let peer: DtlsCertificate;
  let other: DtlsCertificate;
  before(async () => {
    [peer, other] = await Promise.all([generateDtlsCertificate(), generateDtlsCertificate()]);
  });

  it("P_SHA256 and verify_data agree with werift's PRF (the bytes browsers accept)", () => {
    for (const bytes of [12, 32, 48, 100]) {
      const secret = randomBytes(48);
      const seed = randomBytes(77);
      assert.deepEqual(prfSha256(secret, seed, bytes), weriftPrf.prfPHash(secret, seed, bytes));
    }
    const master = randomBytes(48);
    const messages = [message(1, randomBytes(60)), message(2, randomBytes(40))];
    assert.deepEqual(
      verifyData(master, messages, 'client finished'),
      weriftPrf.prfVerifyDataClient(master, serialize(messages)),
    );
    assert.deepEqual(
      verifyData(master, messages, 'server finished'),
      weriftPrf.prfVerifyDataServer(master, serialize(messages)),
    );
  });

  describe('as the server: the client proves its key (CertificateVerify) and its transcript (Finished)', () => {
    /** The client's flight: hello, a CertificateVerify signed by `signer`, a Finished over all of it. */
    async function clientFlight(signer: DtlsCertificate, tamper?: (f: Buffer) => Buffer) {
      const master = randomBytes(48);
      const hs = fakeSocket(peer, master, randomBytes(32));
      const first = [
        message(1, randomBytes(80)),
        message(11, randomBytes(300)),
        message(16, randomBytes(33)),
      ];
      await hs.deliver(first);
      const cv = message(15, signatureField(serialize(first), signer.keyPem));
      await hs.deliver([cv]);
      const finished = verifyData(master, [...first, cv], 'client finished');
      await hs.deliver([message(20, tamper ? tamper(finished) : finished)]);
      // werift then adds our own Finished to its cache, after the client's
      hs.send(message(20, randomBytes(12)));
      return hs;
    }

    it('accepts a client that signed with its certificate key and computed the same Finished', async () => {
      const hs = await clientFlight(peer);
      assert.equal(checkPeerProof(hs.socket, hs.witness, 'server'), undefined);
    });

    it('refuses a CertificateVerify signed with another key', async () => {
      const hs = await clientFlight(other);
      assert.match(
        checkPeerProof(hs.socket, hs.witness, 'server') ?? '',
        /CertificateVerify signature does not verify/,
      );
    });

    it('refuses a Finished that differs in one bit, or has the wrong length', async () => {
      const flipped = await clientFlight(peer, (f) => {
        const copy = Buffer.from(f);
        copy[5]! ^= 1;
        return copy;
      });
      assert.match(
        checkPeerProof(flipped.socket, flipped.witness, 'server') ?? '',
        /Finished does not verify/,
      );
      const short = await clientFlight(peer, (f) => f.subarray(0, 11));
      assert.match(checkPeerProof(short.socket, short.witness, 'server') ?? '', /Finished does not verify/);
    });

    it('refuses a missing or malformed CertificateVerify, an unknown algorithm, a missing certificate', async () => {
      const hs = fakeSocket(peer, randomBytes(48), randomBytes(32));
      await hs.deliver([message(1, randomBytes(10)), message(20, randomBytes(12))]);
      assert.match(checkPeerProof(hs.socket, hs.witness, 'server') ?? '', /sent no CertificateVerify/);

      for (const body of [Buffer.alloc(0), Buffer.from([4, 3, 0]), Buffer.from([4, 3, 0, 9, 1, 2])]) {
        const bad = fakeSocket(peer, randomBytes(48), randomBytes(32));
        await bad.deliver([message(15, body), message(20, randomBytes(12))]);
        assert.match(
          checkPeerProof(bad.socket, bad.witness, 'server') ?? '',
          /CertificateVerify is malformed/,
        );
      }

      const rsa = fakeSocket(peer, randomBytes(48), randomBytes(32));
      const hello = message(1, randomBytes(10));
      await rsa.deliver([hello, message(15, signatureField(serialize([hello]), peer.keyPem, 1))]);
      assert.match(checkPeerProof(rsa.socket, rsa.witness, 'server') ?? '', /signature does not verify/);

      const anonymous = fakeSocket(peer, randomBytes(48), randomBytes(32));
      anonymous.socket.remoteCertificate = undefined;
      assert.match(
        checkPeerProof(anonymous.socket, anonymous.witness, 'server') ?? '',
        /sent no certificate/,
      );
    });
  });

  describe('as the client: the server proves its key (ServerKeyExchange) and its transcript (Finished)', () => {
    async function serverFlight(
      signer: DtlsCertificate,
      options: { keyLength?: number; tamperFinished?: boolean } = {},
    ) {
      const master = randomBytes(48);
      const clientRandom = randomBytes(32);
      const hs = fakeSocket(peer, master, clientRandom, 'client');
      hs.send(message(1, Buffer.concat([Buffer.from([0xfe, 0xfd]), clientRandom, randomBytes(20)])));
      const serverHello = message(
        2,
        Buffer.concat([Buffer.from([0xfe, 0xfd]), randomBytes(32), randomBytes(6)]),
      );
      const publicKey = randomBytes(options.keyLength ?? 32);
      const params = Buffer.concat([Buffer.from([3, 0, 29, publicKey.length]), publicKey]);
      const signed = Buffer.concat([clientRandom, serverHello.fragment.subarray(2, 34), params]);
      const ske = message(12, Buffer.concat([params, signatureField(signed, signer.keyPem)]));
      await hs.deliver([serverHello, message(11, randomBytes(300)), ske, message(14, Buffer.alloc(0))]);
      // our flight 5, Finished last
      hs.send(message(16, randomBytes(33)));
      hs.send(message(20, randomBytes(12)));
      const expected = verifyData(master, hs.socket.dtls.sortedHandshakeCache, 'server finished');
      if (options.tamperFinished) expected[0]! ^= 0x80;
      await hs.deliver([message(20, expected)]);
      return hs;
    }

    it('accepts a server that signed its key exchange with its certificate key', async () => {
      const hs = await serverFlight(peer);
      assert.equal(checkPeerProof(hs.socket, hs.witness, 'client'), undefined);
    });

    it('refuses a ServerKeyExchange signed with another key, or malformed', async () => {
      const forged = await serverFlight(other);
      assert.match(
        checkPeerProof(forged.socket, forged.witness, 'client') ?? '',
        /ServerKeyExchange signature does not verify/,
      );
      const hs = fakeSocket(peer, randomBytes(48), randomBytes(32), 'client');
      await hs.deliver([message(2, randomBytes(40)), message(12, Buffer.from([3, 0, 29, 200, 1]))]);
      assert.match(checkPeerProof(hs.socket, hs.witness, 'client') ?? '', /ServerKeyExchange is malformed/);
    });

    it('refuses a server Finished that does not match our transcript', async () => {
      const hs = await serverFlight(peer, { tamperFinished: true });
      assert.match(checkPeerProof(hs.socket, hs.witness, 'client') ?? '', /Finished does not verify/);
    });
  });
});
