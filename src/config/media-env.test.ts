import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../config.ts';

// The media section of the configuration (media-env.ts): addresses, ICE servers, workers, codecs.
/** The configuration from these variables and the secrets every role needs. */
function load(extra: Record<string, string>) {
  return loadConfig({
    env: {
      CLIENT_SECRET_KEY: 'a-client-key',
      AUTH_JWT_SECRET: 'a-jwt-secret-0123456789',
      AUTH_REFRESH_SECRET: 'a-refresh-secret-0123456789',
      ...extra,
    },
    generateMissingSecrets: false,
    isTty: false,
  });
}

describe('config: media', () => {
  it('PUBLIC_IP_DISCOVERY: off by default, stun:host[:port] servers in order, anything else named', () => {
    assert.deepEqual(load({}).media.publicIpDiscovery, []);
    assert.deepEqual(
      load({ PUBLIC_IP_DISCOVERY: 'stun:stun.example.net:19302, stun:192.0.2.4' }).media.publicIpDiscovery,
      [
        { url: 'stun:stun.example.net:19302', host: 'stun.example.net', port: 19302 },
        { url: 'stun:192.0.2.4', host: '192.0.2.4', port: 3478 },
      ],
    );
    for (const bad of [
      'stun.example.net:3478',
      'stuns:stun.example.net',
      'turn:x:3478',
      'stun:x:0',
      'stun:x:70000',
      'stun:[::1]:3478',
      'stun:',
    ]) {
      assert.throws(
        () => load({ PUBLIC_IP_DISCOVERY: bad }),
        (e: Error) =>
          e instanceof ConfigError &&
          e.problems.some((p) =>
            p.startsWith('PUBLIC_IP_DISCOVERY: expected a comma-separated list of stun:host:port'),
          ),
        bad,
      );
    }
  });

  it('STUN_URLS and TURN_URLS: checked schemes; TURN needs TURN_SECRET; credentials live a day by default', () => {
    assert.deepEqual(load({}).ice, { stunUrls: [], turn: undefined });
    const ice = load({
      STUN_URLS: 'stun:stun.example.com:3478, ',
      TURN_URLS: 'turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349',
      TURN_SECRET: 'a-turn-secret-0123456789',
    }).ice;
    assert.deepEqual(ice, {
      stunUrls: ['stun:stun.example.com:3478'],
      turn: {
        urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'],
        secret: 'a-turn-secret-0123456789',
        ttlS: 86_400,
      },
    });
    const problem = (extra: Record<string, string>, name: string) =>
      assert.throws(
        () => load(extra),
        (e: Error) => e instanceof ConfigError && e.problems.some((p) => p.startsWith(`${name}: `)),
      );
    problem({ TURN_URLS: 'turn:turn.example.com:3478' }, 'TURN_SECRET');
    problem({ TURN_URLS: 'turn:t.example:3478', TURN_SECRET: 'short' }, 'TURN_SECRET');
    problem({ TURN_URLS: 'stun:t.example:3478', TURN_SECRET: 'a-turn-secret-0123456789' }, 'TURN_URLS');
    problem({ STUN_URLS: 'https://stun.example.com' }, 'STUN_URLS');
    problem({ TURN_TTL_SECONDS: '10' }, 'TURN_TTL_SECONDS');
  });

  it('MEDIA_ROOM_PARTICIPANTS_PER_WORKER: a positive number of participants, else a clear error', () => {
    const c = load({ MEDIA_ROOM_PARTICIPANTS_PER_WORKER: '2' });
    assert.equal(c.media.roomParticipantsPerWorker, 2);
    for (const bad of ['0', '-3', 'many', '1.5'])
      assert.throws(
        () => load({ MEDIA_ROOM_PARTICIPANTS_PER_WORKER: bad }),
        (e: Error) =>
          e instanceof ConfigError &&
          e.problems.some((p) => p.startsWith('MEDIA_ROOM_PARTICIPANTS_PER_WORKER: ')),
      );
  });

  it('MEDIA_WORKER_NICE: -10 by default, a nice value when set, else a clear error', () => {
    const nice = (MEDIA_WORKER_NICE?: string) =>
      load(MEDIA_WORKER_NICE === undefined ? {} : { MEDIA_WORKER_NICE });
    assert.equal(nice().media.workerNice, -10);
    assert.equal(nice('0').media.workerNice, 0);
    assert.equal(nice('-20').media.workerNice, -20);
    for (const bad of ['-21', '20', 'high', '1.5'])
      assert.throws(
        () => nice(bad),
        (e: Error) => e instanceof ConfigError && e.problems.some((p) => p.startsWith('MEDIA_WORKER_NICE: ')),
      );
  });

  it('ROOM_CODEC_POLICY: auto by default, publisher when asked, anything else a clear error', () => {
    assert.equal(load({}).media.roomCodecPolicy, 'auto');
    assert.equal(load({ ROOM_CODEC_POLICY: 'publisher' }).media.roomCodecPolicy, 'publisher');
    assert.throws(
      () => load({ ROOM_CODEC_POLICY: 'vp8' }),
      (e: Error) => e instanceof ConfigError && e.problems.some((p) => p.startsWith('ROOM_CODEC_POLICY: ')),
    );
  });

  it('PUBLIC_IP6 and ICE_IPV6_ENABLED: IPv6 on by default with no address forced; a non-IPv6 value is named', () => {
    assert.deepEqual([load({}).media.ipv6, load({}).media.publicIp6], [true, undefined]);
    const set = load({ PUBLIC_IP6: '2001:db8::10', ICE_IPV6_ENABLED: 'false' }).media;
    assert.deepEqual([set.ipv6, set.publicIp6], [false, '2001:db8::10']);
    for (const bad of ['192.0.2.1', 'fe80::1%eth0', 'nope']) {
      assert.throws(
        () => load({ PUBLIC_IP6: bad }),
        (e: Error) =>
          e instanceof ConfigError &&
          e.problems.some((p) => p.startsWith('PUBLIC_IP6: expected an IPv6 address')),
        bad,
      );
    }
  });
});
