import assert from 'node:assert/strict';
import type { networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { announcedIps6 } from './create-sfu.ts';

type Interfaces = ReturnType<typeof networkInterfaces>;

function address(address: string, internal = false) {
  return {
    address,
    netmask: 'ffff:ffff:ffff:ffff::',
    family: 'IPv6' as const,
    mac: '00:00:00:00:00:00',
    internal,
    cidr: `${address}/64`,
    scopeid: 0,
  };
}

describe('announcedIps6', () => {
  const interfaces: Interfaces = {
    lo: [address('::1', true)],
    eth0: [address('fd00::2'), address('fe80::fc:ff:fe00:1')],
    eth1: [address('2001:db8::5'), address('FE80::1')],
  };

  it("announces this machine's global and unique-local IPv6 addresses, not loopback nor link-local", () => {
    assert.deepEqual(announcedIps6(undefined, interfaces), ['fd00::2', '2001:db8::5']);
  });

  it('PUBLIC_IP6 wins over the own addresses', () => {
    assert.deepEqual(announcedIps6('2001:db8::10', interfaces), ['2001:db8::10']);
  });

  it('nothing with only loopback and link-local IPv6 (then no IPv6 socket is bound)', () => {
    assert.deepEqual(
      announcedIps6(undefined, { lo: [address('::1', true)], eth0: [address('fe80::1')] }),
      [],
    );
  });
});
