import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { iceServersFor, turnCredential } from './ice-servers.ts';

const TURN = { urls: ['turn:127.0.0.1:3478'], secret: 'test-turn-secret-0123', ttlS: 86_400 };
const NOW_MS = 1_700_000_000_000;

describe('ICE servers (TURN REST API credentials)', () => {
  it('turnCredential() is `<expiry>:<user id>` and base64(HMAC-SHA1(secret, username))', () => {
    // Expected value: printf '%s' '1700086400:42' | openssl dgst -sha1 -hmac 'test-turn-secret-0123' -binary | base64
    assert.deepEqual(turnCredential(TURN, '42', NOW_MS + 999), {
      username: '1700086400:42',
      credential: '5zeQrdkLxeOERls0edTlYMr1eJk=',
    });
  });

  it('iceServersFor() lists STUN without credentials, then TURN with a credential of the caller', () => {
    const servers = iceServersFor({ stunUrls: ['stun:stun.example.com:3478'], turn: TURN }, '7', NOW_MS);
    assert.deepEqual(servers[0], { urls: ['stun:stun.example.com:3478'] });
    assert.deepEqual(servers[1]?.urls, TURN.urls);
    assert.equal(servers[1]?.username, '1700086400:7');
    assert.equal(servers.length, 2);
  });

  it('without TURN it hands out no credential at all', () => {
    const servers = iceServersFor({ stunUrls: ['stun:a.example:3478'], turn: undefined }, '7', NOW_MS);
    assert.deepEqual(servers, [{ urls: ['stun:a.example:3478'] }]);
    assert.deepEqual(iceServersFor({ stunUrls: [], turn: undefined }, '7', NOW_MS), []);
  });
});
