import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import {
  type StunReply,
  startStunResponder,
  type TestStunServer,
} from '../../test/support/stun-responder.ts';
import { buildBindingRequest, parseStun, StunType, verifyFingerprint } from './ice/index.ts';
import {
  type DiscoveryTiming,
  discoverPublicIp,
  resolvePublicIp,
  type StunServerAddress,
} from './public-address.ts';

// Short waits so a server that never answers costs 20 + 40 + 250 ms, not 3 s (the last wait is
// long enough for the third answer to arrive on a loaded machine).
const FAST: DiscoveryTiming = { rtoMs: 20, transmissions: 3, lastWaitMs: 250 };

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines, messages: () => lines.map((l) => l.msg) };
}

const asServer = (s: TestStunServer): StunServerAddress => ({ url: s.url, host: '127.0.0.1', port: s.port });

describe('public address discovery over STUN', () => {
  const servers: TestStunServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });
  async function responder(reply: StunReply): Promise<TestStunServer> {
    const s = await startStunResponder(reply);
    servers.push(s);
    return s;
  }

  it('builds a Binding request with a valid FINGERPRINT and no other attribute', () => {
    const id = Buffer.alloc(12, 7);
    const msg = parseStun(buildBindingRequest(id));
    assert.ok(msg);
    assert.equal(msg.type, StunType.BindingRequest);
    assert.deepEqual(msg.transactionId, id);
    assert.equal(msg.raw.length, 28);
    assert.equal(verifyFingerprint(msg), true);
  });

  it('reads the XOR-MAPPED-ADDRESS of the answer and logs it with the server', async () => {
    const stun = await responder({ mapped: '198.51.100.7' });
    const { logger, lines } = capturingLogger();
    // An RTO longer than any loopback answer takes: exactly one request is sent.
    const timing = { ...FAST, rtoMs: 2000 };
    const found = await discoverPublicIp([asServer(stun)], { logger, timing });
    assert.deepEqual(found, { address: '198.51.100.7', server: stun.url });
    assert.equal(stun.requests(), 1);
    const info = lines.find((l) => l.msg === 'public address discovered over STUN');
    assert.deepEqual([info?.address, info?.server], ['198.51.100.7', stun.url]);
  });

  it('retransmits to a silent server, then asks the next one', async () => {
    const silent = await responder('silent');
    const answering = await responder({ mapped: '203.0.113.5' });
    const { logger } = capturingLogger();
    const found = await discoverPublicIp([asServer(silent), asServer(answering)], { logger, timing: FAST });
    assert.deepEqual(found, { address: '203.0.113.5', server: answering.url });
    assert.equal(silent.requests(), 3);
  });

  it('ignores and counts garbage, foreign transactions and IPv6 mappings, then warns naming the servers', async () => {
    const garbage = await responder('garbage');
    const foreign = await responder({ foreignTransaction: '192.0.2.1' });
    const ipv6 = await responder({ mappedIpv6: '2001:db8::1' });
    const tried = [garbage, foreign, ipv6].map(asServer);
    const { logger, lines } = capturingLogger();
    const started = performance.now();
    const found = await discoverPublicIp(tried, { logger, timing: FAST });
    assert.equal(found, undefined);
    // Each server got every transmission (no early give-up) and no more: the wait is bounded.
    assert.deepEqual([garbage.requests(), foreign.requests(), ipv6.requests()], [3, 3, 3]);
    assert.ok(performance.now() - started < 5000);
    const reasons = lines.filter((l) => l.msg === 'STUN reply ignored').map((l) => l.reason);
    assert.deepEqual(
      new Set(reasons),
      new Set(['not a well-formed STUN message', 'foreign transaction id', 'IPv6 mapping (IPv4 needed)']),
    );
    const counted = lines.filter((l) => l.msg === 'STUN replies ignored').map((l) => [l.server, l.ignored]);
    assert.deepEqual(
      counted,
      tried.map((s) => [s.url, 3]),
    );
    const failure = lines.find(
      (l) => l.level === 40 && String(l.msg).startsWith('public address discovery failed'),
    );
    assert.deepEqual(
      failure?.servers,
      tried.map((s) => s.url),
    );
  });

  it('gives up on a server whose name does not resolve and goes on', async () => {
    const answering = await responder({ mapped: '198.51.100.9' });
    const { logger, messages } = capturingLogger();
    const unresolvable = { url: 'stun:no-such-host.invalid:3478', host: 'no-such-host.invalid', port: 3478 };
    const found = await discoverPublicIp([unresolvable, asServer(answering)], { logger, timing: FAST });
    assert.equal(found?.address, '198.51.100.9');
    assert.ok(messages().includes('STUN request could not be sent'));
  });

  it('PUBLIC_IP wins over discovery: no request sent, and a log line says so', async () => {
    const stun = await responder({ mapped: '198.51.100.7' });
    const { logger, messages } = capturingLogger();
    const ip = await resolvePublicIp(
      { publicIp: '203.0.113.10', publicIpDiscovery: [asServer(stun)] },
      { logger, timing: FAST },
    );
    assert.equal(ip, '203.0.113.10');
    assert.equal(stun.requests(), 0);
    assert.ok(
      messages().includes('PUBLIC_IP is set: it wins over PUBLIC_IP_DISCOVERY, no STUN request sent'),
    );
  });

  it('without servers, resolvePublicIp is PUBLIC_IP (or undefined) and logs nothing', async () => {
    const { logger, lines } = capturingLogger();
    assert.equal(
      await resolvePublicIp({ publicIp: undefined, publicIpDiscovery: [] }, { logger }),
      undefined,
    );
    assert.equal(
      await resolvePublicIp({ publicIp: '192.0.2.3', publicIpDiscovery: [] }, { logger }),
      '192.0.2.3',
    );
    assert.deepEqual(lines, []);
  });
});
