import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signWebhook, verifyWebhook } from './webhook-signature.ts';

const SECRET = 'test-secret';
const BODY = '{"event":"room_started"}';
// Computed apart from this code: printf '%s' '1700000000.{"event":"room_started"}' | openssl dgst -sha256 -hmac test-secret
const VECTOR = 't=1700000000,v1=ef1cd538a04e8567b700624da11aa66198781187d85a596767347ce1cca2cfc4';

describe('webhook signature', () => {
  it('signWebhook() matches a known HMAC-SHA256 vector of "<t>.<body>"', () => {
    assert.equal(signWebhook(SECRET, BODY, 1_700_000_000.9), VECTOR);
  });

  it('verifyWebhook() accepts the signature within the tolerance', () => {
    assert.equal(verifyWebhook(SECRET, VECTOR, BODY, { nowS: 1_700_000_100 }), true);
    assert.equal(verifyWebhook(SECRET, VECTOR, BODY, { nowS: 1_699_999_800 }), true, 'clock skew');
  });

  it('verifyWebhook() refuses another body, another secret, an old or missing signature', () => {
    const now = { nowS: 1_700_000_000 };
    assert.equal(verifyWebhook(SECRET, VECTOR, `${BODY} `, now), false);
    assert.equal(verifyWebhook('other-secret', VECTOR, BODY, now), false);
    assert.equal(verifyWebhook(SECRET, VECTOR, BODY, { nowS: 1_700_000_301 }), false, 'a replay');
    assert.equal(verifyWebhook(SECRET, VECTOR, BODY, { nowS: 1_700_000_301, toleranceS: 600 }), true);
    assert.equal(verifyWebhook(SECRET, undefined, BODY, now), false);
    assert.equal(verifyWebhook(SECRET, 'v1=abc', BODY, now), false);
    assert.equal(verifyWebhook(SECRET, 't=1700000000,v1=zz', BODY, now), false);
  });

  it('verifyWebhook() accepts any of several v1 values (a secret being rotated)', () => {
    const header = `t=1700000000,v1=${'0'.repeat(64)},${VECTOR.split(',')[1]}`;
    assert.equal(verifyWebhook(SECRET, header, BODY, { nowS: 1_700_000_000 }), true);
  });
});
