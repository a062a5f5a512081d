import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { FORWARDING_LATENCY_BOUNDS_SECONDS } from '../../src/lib/media-histograms.ts';
import { ChromiumParticipant, waitFor, waitForEmptySfu } from '../support/chromium-participant.ts';
import { login, type RestCall, roomWithParticipants, type TestUser } from '../support/clients.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import { seriesValue as series } from '../support/prometheus-text.ts';
import type { TestServer } from '../support/server.ts';

const MALFORMED_DATAGRAMS = 2000;

/** A STUN header whose length is not a multiple of four: the endpoint drops it as malformed. */
function malformedStun(): Buffer {
  const datagram = Buffer.alloc(20);
  datagram.writeUInt16BE(0x0001, 0);
  datagram.writeUInt16BE(3, 2);
  datagram.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(datagram, 8);
  return datagram;
}

describe('media path metrics on /metrics', { timeout: 60_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  let users: TestUser[];
  const scrape = async () => (await fetch(`${server.baseUrl}/metrics`)).text();
  const read = (text: string, name: string, labels: Record<string, string> = {}) =>
    series(text, name, { worker: '0', ...labels });

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite());
    users = [await login(call, 'metrics-a', 'A'), await login(call, 'metrics-b', 'B')];
  });
  after(() => stopMediaSuite(server, chromium));

  it('a call moves rtp, forwarded copies and handshakes; malformed datagrams move the drop counter', async (t) => {
    const start = await scrape();
    const delta = (text: string, name: string, labels: Record<string, string> = {}) =>
      read(text, name, labels) - read(start, name, labels);
    const { roomId, pids } = await roomWithParticipants(call, users, 'Metrics');
    const context = await chromium.newContext();
    const join = (i: number) =>
      ChromiumParticipant.join({
        baseUrl: server.baseUrl,
        token: users[i]!.token,
        context,
        roomId,
        participantId: pids[i]!,
      });
    const pub = await join(0);
    const sub = await join(1);
    const attacker = dgram.createSocket('udp4');
    try {
      await sub.subscribe(pub.participantId);
      await waitFor(
        () => sub.statsFrom(pub.participantId),
        (s) => (s?.framesDecoded ?? 0) > 30,
        'the call running',
      );
      // The worker reports once a second: wait for a report made while media flowed.
      const inCall = await waitFor(
        scrape,
        (t) => delta(t, 'bbmeet_media_forwarded_packets_total') > 0,
        'forwarded copies',
      );
      assert.ok(delta(inCall, 'bbmeet_media_packets_received_total', { kind: 'rtp' }) > 0, 'rtp in');
      assert.ok(delta(inCall, 'bbmeet_media_bytes_received_total', { kind: 'rtp' }) > 0, 'rtp bytes in');
      assert.ok(delta(inCall, 'bbmeet_media_packets_sent_total', { kind: 'rtp' }) > 0, 'rtp out');
      assert.ok(delta(inCall, 'bbmeet_media_packets_received_total', { kind: 'stun' }) > 0, 'stun in');
      assert.ok(delta(inCall, 'bbmeet_media_packets_sent_total', { kind: 'dtls' }) > 0, 'dtls out');
      // Each participant has a publisher and a subscriber connection; the subscriber's is up at least.
      const handshakes = (protocol: string) =>
        delta(inCall, 'bbmeet_media_handshakes_total', { protocol, outcome: 'completed' });
      assert.ok(handshakes('ice') >= 3, `ICE completed: ${handshakes('ice')}`);
      assert.ok(handshakes('dtls') >= 3, `DTLS completed: ${handshakes('dtls')}`);
      assert.ok(read(inCall, 'bbmeet_media_worker_publishers') >= 1);
      assert.ok(read(inCall, 'bbmeet_media_worker_down_tracks') >= 1);
      assert.ok(read(inCall, 'bbmeet_media_worker_cpu_seconds_total') > 0);
      // Every forwarded publisher packet's latency is in the histogram, its buckets cumulative.
      const latency = 'bbmeet_media_forwarding_latency_seconds';
      const timed = delta(inCall, `${latency}_count`);
      assert.ok(timed > 0, 'forwarded packets timed');
      assert.equal(delta(inCall, `${latency}_bucket`, { le: '+Inf' }), timed);
      const buckets = [...FORWARDING_LATENCY_BOUNDS_SECONDS.map(String), '+Inf'].map((le) =>
        read(inCall, `${latency}_bucket`, { le }),
      );
      assert.ok(
        buckets.every((n, i) => i === 0 || n >= buckets[i - 1]!),
        `cumulative buckets: ${buckets.join(' ')}`,
      );
      assert.ok(read(inCall, `${latency}_sum`) > 0);
      const meanMs = (delta(inCall, `${latency}_sum`) / timed) * 1000;
      t.diagnostic(
        `forwarding latency: ${timed} packets, mean ${meanMs.toFixed(3)} ms, le buckets ${buckets.join(' ')}`,
      );

      // A bounded burst of malformed datagrams to loopback, in slices the receive buffer holds.
      const junk = malformedStun();
      for (let sent = 0; sent < MALFORMED_DATAGRAMS; sent += 100) {
        for (let i = 0; i < 100; i++) attacker.send(junk, server.mediaPort, '127.0.0.1');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const frames = (await sub.statsFrom(pub.participantId))!.framesDecoded;
      const forwarded = read(inCall, 'bbmeet_media_forwarded_packets_total');
      const flooded = await waitFor(
        scrape,
        (t) => delta(t, 'bbmeet_media_dropped_total', { reason: 'malformed' }) >= MALFORMED_DATAGRAMS,
        'malformed datagrams counted',
      );
      assert.ok(
        delta(flooded, 'bbmeet_media_packets_received_total', { kind: 'stun' }) >= MALFORMED_DATAGRAMS,
      );
      // The call goes on: frames decoded and packets forwarded after the burst.
      await waitFor(
        () => sub.statsFrom(pub.participantId),
        (s) => (s?.framesDecoded ?? 0) > frames + 30,
        'the call going on',
      );
      const later = await waitFor(
        scrape,
        (t) => read(t, 'bbmeet_media_forwarded_packets_total') > forwarded,
        'forwarding after the burst',
      );
      assert.equal(read(later, 'bbmeet_media_worker_restarts_total'), 0);
    } finally {
      attacker.close();
      await pub.close();
      await sub.close();
      await context.close();
    }
    await waitForEmptySfu(server.sfu);
  });
});
