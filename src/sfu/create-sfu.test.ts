import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type { networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { silentLogger } from '../lib/logger.ts';
import { announcedIps6, createSfu } from './create-sfu.ts';

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

describe('createSfu: a media worker that cannot start', () => {
  it("rejects with the worker's own error (the port it could not bind), not only its exit code", async () => {
    const held = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => held.bind(0, '0.0.0.0', resolve));
    const port = held.address().port;
    try {
      await assert.rejects(
        createSfu({
          workers: 1,
          portMin: port,
          portMax: port,
          publicIp: '127.0.0.1',
          nodeId: 'start-error-node',
          logLevel: 'silent',
          logger: silentLogger(),
        }),
        (err: Error) => {
          assert.match(err.message, new RegExp(`could not start on UDP ports ${port}`));
          assert.match(err.message, /media worker 0 exited with code 1: .*EADDRINUSE/);
          return true;
        },
      );
    } finally {
      await new Promise<void>((resolve) => held.close(() => resolve()));
    }
  });
});
