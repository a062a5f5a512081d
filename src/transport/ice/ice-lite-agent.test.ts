import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bindingRequest } from '../../../test/fakes/stun-request.ts';
import { CONSENT_TIMEOUT_MS, IceLiteAgent, type RemoteAddress, SELECTED_QUIET_MS } from './ice-lite-agent.ts';
import { parseStun, StunType } from './stun.ts';

const A: RemoteAddress = { address: '127.0.0.1', port: 50_000, family: 'IPv4' };
const B: RemoteAddress = { address: '127.0.0.1', port: 50_001, family: 'IPv4' };

describe('IceLiteAgent', () => {
  it('answers a valid check with a success response that verifies, and selects the address', () => {
    const agent = new IceLiteAgent();
    agent.setRemoteCredentials('peer');
    const out = agent.handleCheck(
      parseStun(bindingRequest(`${agent.localUfrag}:peer`, agent.localPwd))!,
      A,
      1000,
    );
    assert.equal(out.kind, 'response');
    assert.ok(out.kind === 'response' && out.nominated);
    assert.deepEqual(agent.selected, A);
    const res = parseStun(out.kind === 'response' ? out.response : Buffer.alloc(0))!;
    assert.equal(res.type, StunType.BindingSuccess);
  });

  it('moves to a newly nominated address, not to an unnominated one', () => {
    const agent = new IceLiteAgent();
    const check = (from: RemoteAddress, use: boolean) =>
      agent.handleCheck(
        parseStun(bindingRequest(`${agent.localUfrag}:peer`, agent.localPwd, { useCandidate: use }))!,
        from,
        1000,
      );
    check(A, false);
    assert.deepEqual(agent.selected, A, 'the first valid pair is used until one is nominated');
    check(B, false);
    assert.deepEqual(agent.selected, A);
    check(B, true);
    assert.deepEqual(agent.selected, B);
  });

  it('Firefox nominating its UDP pair and then an ICE-TCP pair: the UDP path stays selected until it goes quiet', () => {
    const agent = new IceLiteAgent();
    const tcp: RemoteAddress = { ...A, port: 50_002, stream: { write: () => undefined } };
    const check = (from: RemoteAddress, nowMs: number, priority: number) =>
      agent.handleCheck(
        parseStun(bindingRequest(`${agent.localUfrag}:peer`, agent.localPwd, { priority }))!,
        from,
        nowMs,
      );
    // Firefox ESR 153: host UDP 2122187007, then its active TCP candidate 2105458943, both nominated.
    check(A, 1000, 2_122_187_007);
    const late = check(tcp, 1100, 2_105_458_943);
    assert.ok(late.kind === 'response' && !late.nominated, 'answered, not taken');
    assert.deepEqual(agent.selected, A, 'the peer sends its DTLS and media on the UDP pair');
    check(A, 5000, 2_122_187_007);
    check(tcp, 5000 + SELECTED_QUIET_MS - 1, 2_105_458_943);
    assert.deepEqual(agent.selected, A, 'consent checks keep the UDP path alive');
    // The UDP path stopped (a firewall closed it): the peer's nomination of the TCP pair is followed.
    check(tcp, 5000 + SELECTED_QUIET_MS + 1, 2_105_458_943);
    assert.equal(agent.selected, tcp);
  });

  it('a nomination of a better pair replaces the selected one; after an ICE restart any nomination does', () => {
    const agent = new IceLiteAgent();
    const check = (from: RemoteAddress, priority: number) =>
      agent.handleCheck(
        parseStun(bindingRequest(`${agent.localUfrag}:peer`, agent.localPwd, { priority }))!,
        from,
        1000,
      );
    check(A, 100);
    check(B, 200);
    assert.deepEqual(agent.selected, B);
    check(A, 100);
    assert.deepEqual(agent.selected, B, 'a worse nomination of a live path is not followed');
    agent.restart();
    check(A, 100);
    assert.deepEqual(agent.selected, A);
  });

  it('refuses wrong credentials with 401 and selects nothing', () => {
    const agent = new IceLiteAgent();
    agent.setRemoteCredentials('peer');
    const wrongPwd = agent.handleCheck(
      parseStun(bindingRequest(`${agent.localUfrag}:peer`, 'x'.repeat(24)))!,
      A,
      1,
    );
    const wrongUfrag = agent.handleCheck(parseStun(bindingRequest('nope:peer', agent.localPwd))!, A, 1);
    const wrongRemote = agent.handleCheck(
      parseStun(bindingRequest(`${agent.localUfrag}:other`, agent.localPwd))!,
      A,
      1,
    );
    for (const out of [wrongPwd, wrongUfrag, wrongRemote]) {
      assert.equal(out.kind, 'error');
      if (out.kind === 'error') assert.equal(parseStun(out.response)!.type, StunType.BindingError);
    }
    assert.equal(agent.selected, undefined);
  });

  it('consent expires 30 s after the last valid check (RFC 7675)', () => {
    const agent = new IceLiteAgent();
    assert.equal(agent.consentExpired(1e9), false, 'never connected: nothing to expire');
    agent.handleCheck(parseStun(bindingRequest(`${agent.localUfrag}:p`, agent.localPwd))!, A, 1000);
    assert.equal(agent.consentExpired(1000 + CONSENT_TIMEOUT_MS), false);
    assert.equal(agent.consentExpired(1001 + CONSENT_TIMEOUT_MS), true);
  });

  it('restart() changes the credentials; old ones stop working', () => {
    const agent = new IceLiteAgent();
    const [ufrag, pwd] = [agent.localUfrag, agent.localPwd];
    agent.restart();
    assert.notEqual(agent.localUfrag, ufrag);
    assert.equal(agent.handleCheck(parseStun(bindingRequest(`${ufrag}:p`, pwd))!, A, 1).kind, 'error');
    assert.match(agent.localPwd, /^[A-Za-z0-9+/]{24}$/);
  });
});
