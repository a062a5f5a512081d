import {
  constants,
  createHash,
  createHmac,
  type KeyObject,
  timingSafeEqual,
  verify,
  X509Certificate,
} from 'node:crypto';

/**
 * The proofs a DTLS 1.2 peer gives in its handshake, checked here because werift-dtls only reads
 * them: its server logs the client's CertificateVerify and Finished without checking either, and
 * its client checks neither the ServerKeyExchange signature nor the server's Finished. Without
 * them the SDP fingerprint check (RFC 8842 §5) proves nothing: the certificate travels in the
 * clear, so anyone who saw it (and knows the ICE credentials) could present it and complete the
 * handshake without its private key. Checked (RFC 5246):
 * - the peer's signature with the certificate's key: the client's CertificateVerify over the
 *   handshake messages before it (§7.4.8), the server's ServerKeyExchange over both randoms and
 *   its ECDH parameters (RFC 8422 §5.4);
 * - the peer's Finished: PRF(master_secret, "client finished" | "server finished",
 *   SHA-256(handshake messages before it))[0..12) (§7.4.9), which also binds the whole
 *   negotiation (suites, SRTP profiles) against tampering.
 *
 * The transcript is werift's own handshake cache (the bytes its Finished is computed from, which
 * browsers accept); the peer's messages are captured as werift receives them (`HandshakeWitness`).
 */

/** A reassembled handshake message as werift keeps it. */
export interface HandshakeMessage {
  msg_type: number;
  message_seq: number;
  fragment: Buffer;
  serialize(): Buffer;
}

/** The parts of a werift DtlsSocket read here. */
export interface WeriftSocketView {
  onHandleHandshakes: (assembled: HandshakeMessage[]) => Promise<void>;
  dtls: { sortedHandshakeCache: HandshakeMessage[] };
  cipher: {
    masterSecret?: Buffer;
    localRandom?: { serialize(): Buffer };
    remoteRandom?: { serialize(): Buffer };
  };
  remoteCertificate?: Buffer;
}

const SERVER_HELLO = 2;
const SERVER_KEY_EXCHANGE = 12;
const CERTIFICATE_VERIFY = 15;
const FINISHED = 20;
const VERIFY_DATA_BYTES = 12;
const HASHES: Record<number, string> = { 4: 'sha256', 5: 'sha384', 6: 'sha512' };
const RSA = 1;
const ECDSA = 3;

/** The first copy of each handshake message type the peer sent (werift keeps the first too). */
export class HandshakeWitness {
  readonly #received = new Map<number, HandshakeMessage>();

  /** Wraps the socket's handshake entry point to see each reassembled message before werift does. */
  constructor(socket: WeriftSocketView) {
    const handle = socket.onHandleHandshakes;
    if (typeof handle !== 'function')
      throw new Error('werift-dtls has no onHandleHandshakes: unknown version');
    socket.onHandleHandshakes = (assembled) => {
      for (const message of assembled) {
        if (!this.#received.has(message.msg_type)) this.#received.set(message.msg_type, message);
      }
      return handle(assembled);
    };
  }

  received(type: number): HandshakeMessage | undefined {
    return this.#received.get(type);
  }
}

/**
 * Checks the peer's signature and Finished once werift reports the handshake done; the reason it
 * fails, or undefined when the peer proved it holds its certificate's key and saw our transcript.
 */
export function checkPeerProof(
  socket: WeriftSocketView,
  witness: HandshakeWitness,
  role: 'server' | 'client',
): string | undefined {
  const certificate = socket.remoteCertificate;
  const masterSecret = socket.cipher.masterSecret;
  if (!certificate || !masterSecret) return 'dtls peer sent no certificate';
  let key: KeyObject;
  try {
    key = new X509Certificate(certificate).publicKey;
  } catch {
    return 'dtls peer certificate does not parse';
  }
  const transcript = socket.dtls.sortedHandshakeCache;
  const signed = role === 'server' ? clientSignature(witness, transcript) : serverSignature(witness, socket);
  if (typeof signed === 'string') return signed;
  if (!verifySignature(key, signed))
    return `dtls peer ${signed.what} signature does not verify with its certificate`;
  const finished = witness.received(FINISHED);
  if (!finished) return 'dtls peer sent no Finished';
  // Our Finished is not in the cache when we are the client (werift buffers the server's only on the
  // server side): then what comes before the peer's Finished is the whole cache.
  const at = indexOf(transcript, finished);
  const before = at < 0 ? transcript : transcript.slice(0, at);
  const label = role === 'server' ? 'client finished' : 'server finished';
  const expected = verifyData(masterSecret, before, label);
  const got = finished.fragment;
  if (got.length !== VERIFY_DATA_BYTES || !timingSafeEqual(got, expected))
    return 'dtls peer Finished does not verify';
  return undefined;
}

interface SignedData {
  what: string;
  hash: number;
  algorithm: number;
  data: Buffer;
  signature: Buffer;
}

/** The client's CertificateVerify: hash(1) signature(1) length(2) signature, over the messages before it. */
function clientSignature(witness: HandshakeWitness, transcript: HandshakeMessage[]): SignedData | string {
  const message = witness.received(CERTIFICATE_VERIFY);
  if (!message) return 'dtls peer sent no CertificateVerify';
  const body = message.fragment;
  if (body.length < 4 || body.length !== 4 + body.readUInt16BE(2))
    return 'dtls peer CertificateVerify is malformed';
  const at = indexOf(transcript, message);
  if (at < 0) return 'dtls peer CertificateVerify is not in the handshake';
  return {
    what: 'CertificateVerify',
    hash: body[0]!,
    algorithm: body[1]!,
    data: concat(transcript.slice(0, at)),
    signature: body.subarray(4),
  };
}

/**
 * The server's ServerKeyExchange (RFC 8422 §5.4): curve type(1) curve(2) key length(1) key,
 * then hash(1) signature(1) length(2) signature over client random, server random and the params.
 */
function serverSignature(witness: HandshakeWitness, socket: WeriftSocketView): SignedData | string {
  const message = witness.received(SERVER_KEY_EXCHANGE);
  const hello = witness.received(SERVER_HELLO);
  const clientRandom = socket.cipher.localRandom?.serialize();
  if (!message || !hello || !clientRandom) return 'dtls peer sent no ServerKeyExchange';
  const body = message.fragment;
  if (body.length < 4) return 'dtls peer ServerKeyExchange is malformed';
  const params = 4 + body[3]!;
  if (body.length < params + 4 || body.length !== params + 4 + body.readUInt16BE(params + 2))
    return 'dtls peer ServerKeyExchange is malformed';
  // ServerHello: version(2) random(32) …
  if (hello.fragment.length < 34) return 'dtls peer ServerHello is malformed';
  return {
    what: 'ServerKeyExchange',
    hash: body[params]!,
    algorithm: body[params + 1]!,
    data: Buffer.concat([clientRandom, hello.fragment.subarray(2, 34), body.subarray(0, params)]),
    signature: body.subarray(params + 4),
  };
}

function verifySignature(key: KeyObject, signed: SignedData): boolean {
  const hash = HASHES[signed.hash];
  if (!hash) return false;
  try {
    if (signed.algorithm === ECDSA && key.asymmetricKeyType === 'ec')
      return verify(hash, signed.data, { key, dsaEncoding: 'der' }, signed.signature);
    if (signed.algorithm === RSA && key.asymmetricKeyType === 'rsa')
      return verify(hash, signed.data, { key, padding: constants.RSA_PKCS1_PADDING }, signed.signature);
  } catch {
    // a signature that is not DER, or a key the algorithm cannot use
  }
  return false;
}

/** TLS 1.2's verify_data (RFC 5246 §7.4.9) with the SHA-256 PRF of every suite we offer. */
export function verifyData(masterSecret: Buffer, messages: HandshakeMessage[], label: string): Buffer {
  const seed = Buffer.concat([Buffer.from(label), createHash('sha256').update(concat(messages)).digest()]);
  return prfSha256(masterSecret, seed, VERIFY_DATA_BYTES);
}

/** P_SHA256 (RFC 5246 §5): HMAC(secret, A(i) + seed) with A(0) = seed, A(i) = HMAC(secret, A(i-1)). */
export function prfSha256(secret: Buffer, seed: Buffer, bytes: number): Buffer {
  const out: Buffer[] = [];
  let length = 0;
  let a = seed;
  while (length < bytes) {
    a = createHmac('sha256', secret).update(a).digest();
    const block = createHmac('sha256', secret).update(a).update(seed).digest();
    out.push(block);
    length += block.length;
  }
  return Buffer.concat(out).subarray(0, bytes);
}

function concat(messages: HandshakeMessage[]): Buffer {
  return Buffer.concat(messages.map((m) => m.serialize()));
}

/** The peer's message in the cache: the same type, sequence number and body. */
function indexOf(transcript: HandshakeMessage[], message: HandshakeMessage): number {
  return transcript.findIndex(
    (m) =>
      m.msg_type === message.msg_type &&
      m.message_seq === message.message_seq &&
      m.fragment.equals(message.fragment),
  );
}
