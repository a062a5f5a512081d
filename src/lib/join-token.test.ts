import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_GRANTS, mintJoinToken, verifyJoinToken } from './join-token.ts';
import { signJwt } from './jwt.ts';

const SECRET = 'unit-test-join-secret-0123456789abcdef';
const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('join tokens', () => {
  it('verifyJoinToken() returns the identity, room and grants that mintJoinToken() signed', () => {
    const grants = { ...DEFAULT_GRANTS, canPublish: false, hidden: true };
    const token = mintJoinToken({ identity: 'u1', name: 'U', room: 'abc', grants, ttlS: 600 }, SECRET, NOW);
    const result = verifyJoinToken(token, SECRET, NOW);
    assert.deepEqual(result, {
      ok: true,
      claims: { identity: 'u1', name: 'U', room: 'abc', grants, exp: NOW / 1000 + 600 },
    });
  });

  it('verifyJoinToken() refuses expired, foreign-secret, over-24-h and non-join tokens', () => {
    const mint = (ttlS: number, secret = SECRET, nowMs = NOW) =>
      mintJoinToken({ identity: 'u', room: 'r', grants: DEFAULT_GRANTS, ttlS }, secret, nowMs);
    assert.equal(verifyJoinToken(mint(600, SECRET, NOW - 3_600_000), SECRET, NOW).ok, false);
    assert.deepEqual(verifyJoinToken(mint(600, 'y'.repeat(40)), SECRET, NOW), {
      ok: false,
      reason: 'signature',
    });
    assert.deepEqual(verifyJoinToken(mint(90_000), SECRET, NOW), { ok: false, reason: 'ttl too long' });
    const assertion = signJwt({ externalId: 'u', exp: NOW / 1000 + 60 }, SECRET);
    assert.deepEqual(verifyJoinToken(assertion, SECRET, NOW), { ok: false, reason: 'not a join token' });
    const badGrant = signJwt(
      { sub: 'u', video: { roomJoin: true, room: 'r', canPublish: 'yes' }, exp: NOW / 1000 + 60 },
      SECRET,
    );
    assert.equal(verifyJoinToken(badGrant, SECRET, NOW).ok, false);
  });
});
