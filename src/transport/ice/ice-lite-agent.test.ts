import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32 } from './crc32.ts';
import { CONSENT_TIMEOUT_MS, IceLiteAgent, type RemoteAddress } from './ice-lite-agent.ts';
import { parseStun, StunType } from './stun.ts';

/** A browser-like Binding request: USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE?, MI, FINGERPRINT. */
function bindingRequest(username: string, password: string, useCandidate: boolean): Buffer {
  const attrs: Buffer[] = [];
  const attr = (type: number, value: Buffer) => {
    const pad = (4 - (value.length % 4)) % 4;
    const a = Buffer.alloc(4 + value.length + pad);
    a.writeUInt16BE(type, 0);
    a.writeUInt16BE(value.length, 2);
    value.copy(a, 4);
    attrs.push(a);
  };
  attr(0x0006, Buffer.from(username));
  attr(0x0024, Buffer.from([0x6e, 0, 1, 0xff]));
  attr(0x802a, Buffer.alloc(8, 7));
  if (useCandidate) attr(0x0025, Buffer.alloc(0));
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0);
  header.writeUInt32BE(0x2112a442, 4);
  header.fill(9, 8, 20);
  let msg = Buffer.concat([header, ...attrs]);
  msg.writeUInt16BE(msg.length - 20 + 24, 2);
  const mi = Buffer.alloc(24);
  mi.writeUInt16BE(0x0008, 0);
  mi.writeUInt16BE(20, 2);
  createHmac('sha1', password).update(msg).digest().copy(mi, 4);
  msg = Buffer.concat([msg, mi]);
  msg.writeUInt16BE(msg.length - 20 + 8, 2);
  const fp = Buffer.alloc(8);
  fp.writeUInt16BE(0x8028, 0);
  fp.writeUInt16BE(4, 2);
  fp.writeUInt32BE((crc32(msg) ^ 0x5354554e) >>> 0, 4);
  return Buffer.concat([msg, fp]);
}

const A: RemoteAddress = { address: '127.0.0.1', port: 50_000, family: 'IPv4' };
const B: RemoteAddress = { address: '127.0.0.1', port: 50_001, family: 'IPv4' };

describe('IceLiteAgent', () => {
  it('answers a valid check with a success response that verifies, and selects the address', () => {
    const agent = new IceLiteAgent();
    agent.setRemoteCredentials('peer');
    const out = agent.handleCheck(
      parseStun(bindingRequest(`${agent.localUfrag}:peer`, agent.localPwd, true))!,
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
        parseStun(bindingRequest(`${agent.localUfrag}:peer`, agent.localPwd, use))!,
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

  it('refuses wrong credentials with 401 and selects nothing', () => {
    const agent = new IceLiteAgent();
    agent.setRemoteCredentials('peer');
    const wrongPwd = agent.handleCheck(
      parseStun(bindingRequest(`${agent.localUfrag}:peer`, 'x'.repeat(24), true))!,
      A,
      1,
    );
    const wrongUfrag = agent.handleCheck(parseStun(bindingRequest('nope:peer', agent.localPwd, true))!, A, 1);
    const wrongRemote = agent.handleCheck(
      parseStun(bindingRequest(`${agent.localUfrag}:other`, agent.localPwd, true))!,
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
    agent.handleCheck(parseStun(bindingRequest(`${agent.localUfrag}:p`, agent.localPwd, true))!, A, 1000);
    assert.equal(agent.consentExpired(1000 + CONSENT_TIMEOUT_MS), false);
    assert.equal(agent.consentExpired(1001 + CONSENT_TIMEOUT_MS), true);
  });

  it('restart() changes the credentials; old ones stop working', () => {
    const agent = new IceLiteAgent();
    const [ufrag, pwd] = [agent.localUfrag, agent.localPwd];
    agent.restart();
    assert.notEqual(agent.localUfrag, ufrag);
    assert.equal(agent.handleCheck(parseStun(bindingRequest(`${ufrag}:p`, pwd, true))!, A, 1).kind, 'error');
    assert.match(agent.localPwd, /^[A-Za-z0-9+/]{24}$/);
  });
});
