import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { iceSessionTag, ifMatches, readIcePatch } from './ice-session.ts';
import { withIceCredentials } from './whip-sdp.ts';

const TRICKLE =
  'a=ice-ufrag:U1\r\na=ice-pwd:P1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=end-of-candidates\r\n';
const etag = iceSessionTag('abcdefghijkl', 0);

describe('ice-session', () => {
  it('the entity tag names the resource and the ICE session (restarts so far)', () => {
    assert.equal(etag, '"abcdefgh-0"');
    assert.equal(iceSessionTag('abcdefghijkl', 2), '"abcdefgh-2"');
  });

  it('If-Match: absent and * match; otherwise one of its tags must be the current one (weak or strong)', () => {
    assert.equal(ifMatches(undefined, etag), true);
    assert.equal(ifMatches(' * ', etag), true);
    assert.equal(ifMatches(etag, etag), true);
    assert.equal(ifMatches(`"other", W/${etag}`, etag), true);
    assert.equal(ifMatches('"abcdefgh-1"', etag), false);
  });

  it('readIcePatch(): the same ufrag trickles, another one restarts, a stale If-Match wins, no fragment throws', () => {
    const read = (fragment: string, ifMatch?: string) =>
      readIcePatch({ fragment, ifMatch, etag, remoteUfrag: 'U1' });
    assert.equal(read(TRICKLE).kind, 'trickle');
    assert.equal(read('a=end-of-candidates\r\n').kind, 'trickle');
    const restart = read(TRICKLE.replace('U1', 'U2'), '*');
    assert.equal(restart.kind, 'restart');
    assert.deepEqual(restart.kind === 'restart' && restart.credentials, { ufrag: 'U2', pwd: 'P1' });
    assert.equal(read(TRICKLE.replace('U1', 'U2'), '"abcdefgh-1"').kind, 'stale_etag');
    assert.equal(read(TRICKLE, '"abcdefgh-1"').kind, 'stale_etag');
    assert.throws(() => read('a=ice-ufrag:U2\r\n'), TypeError);
  });

  it('withIceCredentials() keeps the candidates unless told to drop them', () => {
    const answer =
      'v=0\r\na=ice-ufrag:old\r\na=ice-pwd:oldpwd\r\na=candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\n';
    const kept = withIceCredentials(answer, { ufrag: 'new', pwd: 'newpwd' });
    assert.equal(kept, answer.replace('old', 'new').replace('oldpwd', 'newpwd'));
    assert.doesNotMatch(
      withIceCredentials(answer, { ufrag: 'new', pwd: 'newpwd' }, { dropCandidates: true }),
      /a=candidate/,
    );
  });
});
