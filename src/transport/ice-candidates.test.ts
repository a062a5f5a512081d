import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { candidatePriority, hostCandidates, localPreference } from './ice-candidates.ts';
import { transportLines } from './negotiation/sdp-lines.ts';

/** One IPv4 address on UDP 19200 and TCP 19300, and two IPv6 addresses (their ports per test). */
const DUAL_STACK = { ips: ['192.0.2.1'], udpPort: 19200, tcpPort: 19300, ips6: ['2001:db8::1', 'fd00::2'] };

describe('ICE host candidates', () => {
  it('candidatePriority() follows RFC 8445 §5.1.2.1', () => {
    assert.equal(candidatePriority(126, 65_535), 126 * 2 ** 24 + 65_535 * 2 ** 8 + 255);
    assert.equal(candidatePriority(0, 0, 2), 254);
  });

  it('localPreference() of a passive TCP candidate is 2^13 × 4 + other preference (RFC 6544 §4.2)', () => {
    assert.equal(localPreference('tcp', 0), 4 * 8192 + 8191);
    assert.equal(localPreference('tcp', 1), 4 * 8192 + 8190);
    assert.equal(localPreference('udp', 0), 65_535);
  });

  it('hostCandidates() announces every address on UDP, then on TCP as passive, every UDP one outranking every TCP one', () => {
    const candidates = hostCandidates({ ips: ['192.0.2.1', '198.51.100.2'], udpPort: 19200, tcpPort: 19300 });
    assert.deepEqual(
      candidates.map((c) => [c.foundation, c.protocol, c.ip, c.port, c.tcpType]),
      [
        ['1', 'udp', '192.0.2.1', 19200, undefined],
        ['2', 'udp', '198.51.100.2', 19200, undefined],
        ['3', 'tcp', '192.0.2.1', 19300, 'passive'],
        ['4', 'tcp', '198.51.100.2', 19300, 'passive'],
      ],
    );
    const udp = candidates.filter((c) => c.protocol === 'udp').map((c) => c.priority);
    const tcp = candidates.filter((c) => c.protocol === 'tcp').map((c) => c.priority);
    assert.ok(Math.min(...udp) > Math.max(...tcp));
    // Same type preference (host): the difference is in the local preference only.
    for (const p of [...udp, ...tcp]) assert.equal(Math.floor(p / 2 ** 24), 126);
    assert.ok(candidates.every((c) => Number.isSafeInteger(c.priority) && c.priority < 2 ** 31));
  });

  it('hostCandidates() leaves out a protocol without a port', () => {
    assert.deepEqual(
      hostCandidates({ ips: ['192.0.2.1'], tcpPort: 19300 }).map((c) => c.protocol),
      ['tcp'],
    );
    assert.deepEqual(
      hostCandidates({ ips: ['192.0.2.1'], udpPort: 19200 }).map((c) => c.protocol),
      ['udp'],
    );
  });

  it('hostCandidates() announces IPv6 addresses on their own UDP port, below every IPv4 UDP one and above TCP, with no IPv6 TCP without its port', () => {
    const candidates = hostCandidates({ ...DUAL_STACK, udpPort6: 19201 });
    assert.deepEqual(
      candidates.map((c) => [c.foundation, c.protocol, c.ip, c.port, c.priority]),
      [
        ['1', 'udp', '192.0.2.1', 19200, candidatePriority(126, 65_535)],
        ['2', 'udp', '2001:db8::1', 19201, candidatePriority(126, 65_534)],
        ['3', 'udp', 'fd00::2', 19201, candidatePriority(126, 65_533)],
        ['4', 'tcp', '192.0.2.1', 19300, candidatePriority(126, 40_959)],
      ],
    );
  });

  it('hostCandidates() announces IPv6 addresses on the IPv6 TCP port as passive, below the IPv4 TCP ones and every UDP one (RFC 6544 §4.2)', () => {
    const candidates = hostCandidates({ ...DUAL_STACK, udpPort6: 19200, tcpPort6: 19300 });
    assert.deepEqual(
      candidates.map((c) => [c.foundation, c.protocol, c.ip, c.port, c.priority, c.tcpType]),
      [
        ['1', 'udp', '192.0.2.1', 19200, candidatePriority(126, 65_535), undefined],
        ['2', 'udp', '2001:db8::1', 19200, candidatePriority(126, 65_534), undefined],
        ['3', 'udp', 'fd00::2', 19200, candidatePriority(126, 65_533), undefined],
        ['4', 'tcp', '192.0.2.1', 19300, candidatePriority(126, 4 * 8192 + 8191), 'passive'],
        ['5', 'tcp', '2001:db8::1', 19300, candidatePriority(126, 4 * 8192 + 8190), 'passive'],
        ['6', 'tcp', 'fd00::2', 19300, candidatePriority(126, 4 * 8192 + 8189), 'passive'],
      ],
    );
    // IPv6 TCP alone (no UDP, no IPv4 TCP): the first passive local preference.
    const only6 = hostCandidates({ ips: ['192.0.2.1'], ips6: ['fd00::2'], tcpPort6: 19300 });
    assert.deepEqual(
      only6.map((c) => [c.foundation, c.protocol, c.ip, c.priority]),
      [['1', 'tcp', 'fd00::2', candidatePriority(126, 40_959)]],
    );
  });

  it('hostCandidates() without an IPv6 port announces no IPv6 address; IPv6 alone works without IPv4', () => {
    const none = hostCandidates({
      ips: ['192.0.2.1'],
      udpPort: 19200,
      tcpPort: 19300,
      ips6: ['2001:db8::1'],
    });
    assert.deepEqual(
      none.map((c) => c.ip),
      ['192.0.2.1', '192.0.2.1'],
    );
    const only6 = hostCandidates({ ips: [], udpPort: 19200, ips6: ['2001:db8::1'], udpPort6: 19200 });
    assert.deepEqual(
      only6.map((c) => [c.foundation, c.ip, c.priority]),
      [['1', '2001:db8::1', candidatePriority(126, 65_535)]],
    );
  });

  it('a TCP candidate is written with tcptype passive in the SDP (RFC 6544 §4.5)', () => {
    const lines = transportLines(
      {
        iceUfrag: 'u',
        icePwd: 'p',
        iceLite: true,
        fingerprint: { algorithm: 'sha-256', value: 'AA' },
        candidates: hostCandidates({ ips: ['192.0.2.1'], udpPort: 19200, tcpPort: 19300 }),
      },
      'passive',
    );
    assert.ok(
      lines.includes(`a=candidate:1 1 udp ${candidatePriority(126, 65_535)} 192.0.2.1 19200 typ host`),
    );
    assert.ok(
      lines.includes(
        `a=candidate:2 1 tcp ${candidatePriority(126, 40_959)} 192.0.2.1 19300 typ host tcptype passive`,
      ),
    );
  });
});
