import dtls from 'werift-dtls/lib/dtls/src/index.js';
import { nativeAddon } from '../srtp/native-addon.ts';
import { SrtpProfile, type SrtpProfileId } from '../srtp/srtp-session.ts';
import type { DtlsCertificate } from './dtls-certificate.ts';
import { fingerprintOfDer } from './dtls-certificate.ts';
import { checkPeerProof, HandshakeWitness, type WeriftSocketView } from './handshake-proof.ts';
import { installNativeKeyExchange } from './native-key-exchange.ts';

// The handshake's ECDHE in node:crypto instead of werift's JavaScript (native-key-exchange.ts).
installNativeKeyExchange();

export interface SrtpKeys {
  profile: SrtpProfileId;
  localKey: Buffer;
  localSalt: Buffer;
  remoteKey: Buffer;
  remoteSalt: Buffer;
}

export type DtlsRole = 'server' | 'client';

export interface DtlsSessionOptions {
  certificate: DtlsCertificate;
  role: DtlsRole;
  /**
   * Accepted remote certificate fingerprints (sha-256, from the peer's SDP). Undefined while the
   * peer's SDP is not known yet (its DTLS came before its answer): the handshake runs, and its
   * outcome waits for setRemoteFingerprints.
   */
  remoteFingerprints: string[] | undefined;
  /** Sends one datagram to the peer (over the ICE-selected address). */
  send: (datagram: Buffer) => void;
  onConnected: (keys: SrtpKeys) => void;
  onFailed: (reason: string) => void;
  /** Application data (SCTP for data channels). */
  onData?: (data: Buffer) => void;
}

const KEY_BYTES = 16;

/**
 * The SRTP profiles we offer (as client) or pick from the peer's offer (as server), cheapest first
 * for where SRTP will run (src/transport/srtp/srtp.bench.ts, 1,200-byte packets): in the native
 * addon GCM protects in ≈0.7 µs against ≈1.45 µs for AES-CM + HMAC-SHA1 (AES-NI and carry-less
 * multiply against SHA-1); in JavaScript AES-CM is the cheaper, as Node's GCM needs a cipher
 * object per packet.
 */
export function preferredSrtpProfiles(): SrtpProfileId[] {
  return nativeAddon()
    ? [SrtpProfile.AEAD_AES_128_GCM, SrtpProfile.AES_CM_128_HMAC_SHA1_80]
    : [SrtpProfile.AES_CM_128_HMAC_SHA1_80, SrtpProfile.AEAD_AES_128_GCM];
}
const SALT_BYTES = { [SrtpProfile.AES_CM_128_HMAC_SHA1_80]: 14, [SrtpProfile.AEAD_AES_128_GCM]: 12 } as const;

/**
 * One DTLS 1.2 association (RFC 6347) over the transport's selected address, run by werift's DTLS
 * implementation. On success it checks the peer certificate against the SDP fingerprints
 * (RFC 8842 §5), the peer's proof that it holds that certificate's key and saw the same handshake
 * (handshake-proof.ts: werift does not check it), and exports the SRTP keys (RFC 5764 §4.2).
 *
 * Lifecycle: created when ICE connects (or, as the server, at the peer's first ClientHello when its
 * SDP is not known yet) → `handle()` feeds records → [setRemoteFingerprints] → connected (keys)
 * or failed → `close()`.
 */
export class DtlsSession {
  readonly #options: DtlsSessionOptions;
  readonly #socket: InstanceType<typeof dtls.DtlsSocket>;
  readonly #transport: {
    type: string;
    address: object;
    closed: boolean;
    onData: (data: Buffer) => void;
    send: (data: Buffer) => Promise<void>;
    close: () => Promise<void>;
  };
  /** The peer's handshake messages, for the proofs werift does not check (handshake-proof.ts). */
  readonly #witness: HandshakeWitness;
  #done = false;
  #remoteFingerprints: string[] | undefined;
  /** The handshake finished before the peer's fingerprints were known. */
  #connectedEarly = false;

  constructor(options: DtlsSessionOptions) {
    this.#options = options;
    this.#remoteFingerprints = options.remoteFingerprints;
    // werift's transport contract: it writes through `send` and replaces `onData` with its reader.
    this.#transport = {
      type: 'udp',
      address: {},
      closed: false,
      onData: () => undefined,
      send: async (data: Buffer) => options.send(data),
      close: async () => undefined,
    };
    const socketOptions = {
      transport: this.#transport as unknown as ConstructorParameters<typeof dtls.DtlsServer>[0]['transport'],
      cert: options.certificate.certPem,
      key: options.certificate.keyPem,
      signatureHash: { hash: dtls.HashAlgorithm.sha256_4, signature: dtls.SignatureAlgorithm.ecdsa_3 },
      srtpProfiles: preferredSrtpProfiles(),
      certificateRequest: true,
      extendedMasterSecret: true,
    };
    this.#socket =
      options.role === 'server' ? new dtls.DtlsServer(socketOptions) : new dtls.DtlsClient(socketOptions);
    this.#witness = new HandshakeWitness(this.#socket as unknown as WeriftSocketView);
    this.#socket.onConnect.subscribe(() => this.#onConnect());
    this.#socket.onError.subscribe((err: Error) => this.#fail(`dtls error: ${err.message}`));
    this.#socket.onData.subscribe((data: Buffer) => options.onData?.(data));
  }

  /** Starts the handshake when we are the client (the server waits for the ClientHello). */
  start(): void {
    if (this.#socket instanceof dtls.DtlsClient) {
      this.#socket.connect().catch((err: unknown) => this.#fail(`dtls connect failed: ${String(err)}`));
    }
  }

  /** One DTLS record from the peer. */
  handle(datagram: Buffer): void {
    if (this.#done && !this.#socket.connected) return;
    try {
      this.#transport.onData(datagram);
    } catch (err) {
      this.#fail(`malformed dtls record: ${String(err)}`);
    }
  }

  /**
   * The peer's fingerprints, from its SDP arriving after the handshake began (RFC 8842 §5: the
   * certificate is checked against them before any key is used): a handshake already finished is
   * decided now.
   */
  setRemoteFingerprints(fingerprints: string[]): void {
    if (this.#remoteFingerprints !== undefined) return;
    this.#remoteFingerprints = fingerprints;
    if (this.#connectedEarly) this.#onConnect();
  }

  sendData(data: Buffer): void {
    if (!this.#socket.connected) return;
    this.#socket.send(data).catch(() => undefined);
  }

  close(): void {
    this.#done = true;
    try {
      this.#socket.close();
    } catch {
      // closing a half-open association may throw inside the library; nothing is left to do
    }
  }

  #onConnect(): void {
    if (this.#done) return;
    if (this.#remoteFingerprints === undefined) {
      this.#connectedEarly = true;
      return;
    }
    const cert = this.#socket.remoteCertificate;
    const fingerprint = cert ? fingerprintOfDer(cert) : undefined;
    const accepted = this.#remoteFingerprints.map((f) => f.toUpperCase());
    if (!fingerprint || !accepted.includes(fingerprint)) {
      this.#fail('remote certificate does not match the SDP fingerprint');
      return;
    }
    // The fingerprint names a certificate anyone may have seen: the peer proves it holds its key.
    const unproven = checkPeerProof(
      this.#socket as unknown as WeriftSocketView,
      this.#witness,
      this.#options.role,
    );
    if (unproven) {
      this.#fail(unproven);
      return;
    }
    const profile = this.#socket.srtp.srtpProfile as SrtpProfileId | undefined;
    if (profile !== SrtpProfile.AEAD_AES_128_GCM && profile !== SrtpProfile.AES_CM_128_HMAC_SHA1_80) {
      this.#fail('no common SRTP protection profile');
      return;
    }
    const keys = this.#socket.extractSessionKeys(KEY_BYTES, SALT_BYTES[profile]);
    this.#done = true;
    this.#options.onConnected({
      profile,
      localKey: Buffer.from(keys.localKey),
      localSalt: Buffer.from(keys.localSalt),
      remoteKey: Buffer.from(keys.remoteKey),
      remoteSalt: Buffer.from(keys.remoteSalt),
    });
  }

  #fail(reason: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#options.onFailed(reason);
  }
}
