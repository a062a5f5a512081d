import {
  createECDH,
  createPublicKey,
  diffieHellman,
  type ECDH,
  generateKeyPairSync,
  KeyObject,
} from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * werift-dtls' ECDHE in native code. The library makes its ephemeral key pair (namedCurve.js
 * `generateKeyPair`, in flight 2 on the server, flight 5 on the client) and the premaster secret
 * (prf.js `prfPreMasterSecret`, flights 5 and 6) in JavaScript: X25519 with tweetnacl, P-256 with
 * @noble/curves, milliseconds of CPU per handshake on the media thread (dtls-handshake.bench.ts).
 * Both are module functions its flights call through the module's exports at call time, so
 * replacing those two exports with node:crypto's X25519 and P-256 ECDH (OpenSSL) changes the
 * arithmetic only: same key formats (X25519: 32-byte scalars and u-coordinates; P-256: 32-byte
 * scalar, 65-byte uncompressed point, the shared x coordinate as premaster, RFC 8422 §5.10), same
 * messages. The library's files are not touched; if their shape is not the one expected (another
 * version), its own code stays in place and `nativeKeyExchangeInstalled()` says so.
 */

const X25519 = 29;
const P256 = 23;
/** DER prefix of an X25519 SubjectPublicKeyInfo (RFC 8410 §4) before the 32-byte key. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const X25519_KEY_BYTES = 32;
const P256_POINT_BYTES = 65;

interface KeyPair {
  curve: number;
  privateKey: Buffer;
  publicKey: Buffer;
}
interface NamedCurveModule {
  generateKeyPair: (curve: number) => KeyPair;
}
interface PrfModule {
  prfPreMasterSecret: (publicKey: Buffer, privateKey: Buffer, curve: number) => Buffer;
}

const require = createRequire(import.meta.url);
const namedCurve = require('werift-dtls/lib/dtls/src/cipher/namedCurve.js') as NamedCurveModule;
const prf = require('werift-dtls/lib/dtls/src/cipher/prf.js') as PrfModule;
const jsGenerateKeyPair = namedCurve.generateKeyPair;
const jsPreMasterSecret = prf.prfPreMasterSecret;

/**
 * The native key behind each private key handed to the library: the library keeps only the
 * Buffer, and rebuilding the key from it would cost a scalar multiplication (P-256 setPrivateKey
 * derives the public point). Entries go with their handshake's key pair.
 */
const nativeKeys = new WeakMap<Buffer, KeyObject | ECDH>();

export function nativeGenerateKeyPair(curve: number): KeyPair {
  if (curve === X25519) {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    const raw = Buffer.from(pkcs8.subarray(pkcs8.length - X25519_KEY_BYTES));
    nativeKeys.set(raw, privateKey);
    return { curve, privateKey: raw, publicKey: Buffer.from(spki.subarray(spki.length - X25519_KEY_BYTES)) };
  }
  if (curve === P256) {
    const ecdh = createECDH('prime256v1');
    const publicKey = ecdh.generateKeys();
    const raw = ecdh.getPrivateKey();
    nativeKeys.set(raw, ecdh);
    return { curve, privateKey: raw, publicKey };
  }
  // No curve in common (undefined) or one the library does not know: its own error, as before.
  return jsGenerateKeyPair(curve);
}

/** The ECDHE premaster secret; throws on a malformed peer key (the handshake then fails). */
export function nativePreMasterSecret(publicKey: Buffer, privateKey: Buffer, curve: number): Buffer {
  const native = nativeKeys.get(privateKey);
  if (native === undefined) return jsPreMasterSecret(publicKey, privateKey, curve);
  if (curve === X25519 && native instanceof KeyObject) {
    if (publicKey.length !== X25519_KEY_BYTES) throw new Error('bad x25519 public key length');
    const peer = createPublicKey({
      key: Buffer.concat([X25519_SPKI_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
    return diffieHellman({ privateKey: native, publicKey: peer });
  }
  if (curve === P256 && !(native instanceof KeyObject)) {
    if (publicKey.length !== P256_POINT_BYTES || publicKey[0] !== 0x04)
      throw new Error('bad p-256 public key');
    return native.computeSecret(publicKey);
  }
  return jsPreMasterSecret(publicKey, privateKey, curve);
}

let installed = false;

/** Puts the native functions in werift-dtls' modules (once); false when their shape is unknown. */
export function installNativeKeyExchange(): boolean {
  if (installed) return true;
  if (typeof jsGenerateKeyPair !== 'function' || typeof jsPreMasterSecret !== 'function') return false;
  namedCurve.generateKeyPair = nativeGenerateKeyPair;
  prf.prfPreMasterSecret = nativePreMasterSecret;
  installed =
    namedCurve.generateKeyPair === nativeGenerateKeyPair && prf.prfPreMasterSecret === nativePreMasterSecret;
  return installed;
}

export function nativeKeyExchangeInstalled(): boolean {
  return installed;
}

/** werift's own JavaScript key exchange again (the bench's A/B and the interop test). */
export function restoreJsKeyExchange(): void {
  namedCurve.generateKeyPair = jsGenerateKeyPair;
  prf.prfPreMasterSecret = jsPreMasterSecret;
  installed = false;
}

/** werift's JavaScript functions, to check the native ones against. */
export const jsKeyExchange = { generateKeyPair: jsGenerateKeyPair, preMasterSecret: jsPreMasterSecret };
