import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { readUserToken, secretsEqual, signJwt, signToken, verifyToken } from './jwt.ts';

const SECRET = 'test-secret-0123456789';

describe('jwt', () => {
  it('verifyToken() accepts what signToken() made', () => {
    const token = signToken({ id: '42', exp: Math.floor(Date.now() / 1000) + 60 }, SECRET);
    const result = verifyToken(token, SECRET);
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.claims.id, '42');
  });

  it('verifyToken() rejects another secret, an expired token and garbage', () => {
    const now = Date.now();
    const token = signToken({ id: '1', exp: Math.floor(now / 1000) + 60 }, SECRET);
    assert.deepEqual(verifyToken(token, 'other-secret-0123456789'), { ok: false, reason: 'signature' });
    const old = signToken({ id: '1', exp: Math.floor(now / 1000) - 61 }, SECRET);
    assert.deepEqual(verifyToken(old, SECRET, now), { ok: false, reason: 'expired' });
    assert.deepEqual(verifyToken('a.b', SECRET), { ok: false, reason: 'malformed' });
    assert.equal(verifyToken('a.b.c', SECRET).ok, false);
  });

  it('verifyToken() allows 60 s of clock skew', () => {
    const now = Date.now();
    const token = signToken({ id: '1', exp: Math.floor(now / 1000) - 30 }, SECRET);
    assert.equal(verifyToken(token, SECRET, now).ok, true);
  });

  it('verifyToken() rejects alg none and a forged payload', () => {
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"id":"1","exp":9999999999}').toString('base64url')}.`;
    assert.equal(verifyToken(none, SECRET).ok, false);
    const token = signToken({ id: '1', exp: 9_999_999_999 }, SECRET);
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from('{"id":"2","exp":9999999999}').toString('base64url')}.${s}`;
    assert.deepEqual(verifyToken(forged, SECRET), { ok: false, reason: 'signature' });
  });

  it('interoperates with a token signed the standard way (numeric id claim)', () => {
    const h = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    const p = Buffer.from('{"id":7,"exp":9999999999}').toString('base64url');
    const sig = createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url');
    const result = verifyToken(`${h}.${p}.${sig}`, SECRET);
    assert.equal(result.ok && result.claims.id, '7');
  });

  it('readUserToken() gives the id and token version; a token without tv is version 0', () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    assert.deepEqual(readUserToken(`Bearer ${signToken({ id: '5', exp, tv: 3 }, SECRET)}`, SECRET), {
      userId: 5,
      tokenVersion: 3,
    });
    assert.deepEqual(readUserToken(signToken({ id: '5', exp }, SECRET), SECRET), {
      userId: 5,
      tokenVersion: 0,
    });
    assert.equal(readUserToken(signJwt({ id: '5', exp, tv: -1 }, SECRET), SECRET), undefined);
    assert.equal(readUserToken(signJwt({ id: '5', exp, tv: '1' }, SECRET), SECRET), undefined);
    assert.equal(readUserToken(signToken({ id: '0', exp }, SECRET), SECRET), undefined);
    assert.equal(readUserToken(undefined, SECRET), undefined);
  });

  it('secretsEqual() compares exactly', () => {
    assert.equal(secretsEqual('abc', 'abc'), true);
    assert.equal(secretsEqual('abc', 'abd'), false);
    assert.equal(secretsEqual('abc', 'abcd'), false);
  });
});
