import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import './dtls-session.ts';
import {
  jsKeyExchange,
  nativeGenerateKeyPair,
  nativeKeyExchangeInstalled,
  nativePreMasterSecret,
} from './native-key-exchange.ts';

const X25519 = 29;
const P256 = 23;

describe('native DTLS key exchange', () => {
  it('is installed in werift-dtls when the DTLS session module loads', () => {
    assert.equal(nativeKeyExchangeInstalled(), true);
  });

  for (const [name, curve, publicBytes] of [
    ['X25519', X25519, 32],
    ['P-256', P256, 65],
  ] as const) {
    it(`${name}: agrees with werift's JavaScript implementation in both directions`, () => {
      for (let i = 0; i < 5; i++) {
        const native = nativeGenerateKeyPair(curve);
        const js = jsKeyExchange.generateKeyPair(curve);
        assert.equal(native.curve, curve);
        assert.equal(native.publicKey.length, publicBytes);
        assert.equal(native.privateKey.length, 32);
        const ours = nativePreMasterSecret(js.publicKey, native.privateKey, curve);
        const theirs = jsKeyExchange.preMasterSecret(native.publicKey, js.privateKey, curve);
        assert.equal(ours.length, 32);
        assert.deepEqual(ours, theirs);
      }
    });

    it(`${name}: a malformed peer key throws (the handshake fails), never crashes`, () => {
      const native = nativeGenerateKeyPair(curve);
      for (const bad of [Buffer.alloc(0), Buffer.alloc(publicBytes - 1, 1), Buffer.alloc(publicBytes + 3, 4)])
        assert.throws(() => nativePreMasterSecret(bad, native.privateKey, curve));
    });
  }

  it("a private key it did not make goes to werift's own code", () => {
    const js = jsKeyExchange.generateKeyPair(X25519);
    const other = jsKeyExchange.generateKeyPair(X25519);
    assert.deepEqual(
      nativePreMasterSecret(other.publicKey, js.privateKey, X25519),
      jsKeyExchange.preMasterSecret(other.publicKey, js.privateKey, X25519),
    );
  });
});
