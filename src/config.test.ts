import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, envSchema, loadConfig } from './config.ts';

describe('config', () => {
  it('.env.example documents exactly the variables the server reads', () => {
    const documented = readFileSync('.env.example', 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z0-9_]+=/.test(l))
      .map((l) => l.split('=')[0]);
    const read = Object.keys(envSchema.shape);
    assert.deepEqual([...documented].sort(), [...read].sort());
  });

  it('defaults: port 5998, embedded database, one media worker per core', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-config-'));
    try {
      const c = loadConfig({ env: { DATA_DIR: dir }, generateMissingSecrets: true, isTty: false });
      assert.equal(c.http.port, 5998);
      assert.equal(c.database.url, undefined);
      assert.equal(c.database.sqlitePath, path.join(dir, 'bbmeet.sqlite'));
      assert.ok(c.media.workers >= 1);
      assert.equal(c.media.roomParticipantsPerWorker, 50);
      assert.equal(c.cluster.redisUrl, undefined);
      assert.equal(c.storage, undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('SOCKET_MAX_MESSAGE_BYTES defaults to 64 KiB: 6 times the largest publish event of the Chromium fixtures', () => {
    const notepack = createRequire(import.meta.resolve('socket.io-msgpack-parser'))('notepack.io') as {
      encode(v: unknown): Buffer;
    };
    const frames = readdirSync('test/fixtures/sdp').map(
      (file) =>
        notepack.encode({
          type: 2,
          nsp: '/',
          id: 1,
          data: [
            'room.publish',
            { sdp: readFileSync(path.join('test/fixtures/sdp', file), 'utf8'), roomId: '1' },
          ],
        }).length,
    );
    const { SOCKET_MAX_MESSAGE_BYTES } = envSchema.parse({});
    assert.equal(SOCKET_MAX_MESSAGE_BYTES, 65_536);
    assert.ok(
      Math.max(...frames) * 6 < SOCKET_MAX_MESSAGE_BYTES,
      `largest frame ${Math.max(...frames)} bytes`,
    );
  });

  it('AUTH_LOGIN_MODE=strict needs AUTH_IDENTITY_SECRET (32+ characters) and turns guest login off', () => {
    const load = (env: Record<string, string>) =>
      loadConfig({
        env: {
          CLIENT_SECRET_KEY: 'a-client-key',
          AUTH_JWT_SECRET: 'a-jwt-secret-0123456789',
          AUTH_REFRESH_SECRET: 'a-refresh-secret-0123456789',
          ...env,
        },
        generateMissingSecrets: false,
        isTty: false,
      });
    const open = load({});
    assert.deepEqual(
      [open.auth.loginMode, open.auth.identitySecret, open.http.guestLogin],
      ['open', undefined, true],
    );
    const problem = (env: Record<string, string>) =>
      assert.throws(
        () => load(env),
        (e: Error) =>
          e instanceof ConfigError && e.problems.some((p) => p.startsWith('AUTH_IDENTITY_SECRET: ')),
      );
    problem({ AUTH_LOGIN_MODE: 'strict' });
    problem({ AUTH_LOGIN_MODE: 'strict', AUTH_IDENTITY_SECRET: 'too-short' });
    const secret = 'an-identity-secret-0123456789-abcdef';
    const strict = load({ AUTH_LOGIN_MODE: 'strict', AUTH_IDENTITY_SECRET: secret });
    assert.deepEqual(
      [strict.auth.loginMode, strict.auth.identitySecret, strict.http.guestLogin],
      ['strict', secret, false],
    );
    assert.deepEqual(strict.notices, []);
    const asked = load({
      AUTH_LOGIN_MODE: 'strict',
      AUTH_IDENTITY_SECRET: secret,
      GUEST_LOGIN_ENABLED: 'true',
    });
    assert.equal(asked.http.guestLogin, false);
    assert.ok(asked.notices.some((n) => n.includes('GUEST_LOGIN_ENABLED')));
  });

  it('WEBHOOK_URLS: off by default, a comma-separated list of http(s) URLs, anything else named', () => {
    const env = {
      CLIENT_SECRET_KEY: 'a-client-key',
      AUTH_JWT_SECRET: 'a-jwt-secret-0123456789',
      AUTH_REFRESH_SECRET: 'a-refresh-secret-0123456789',
    };
    const load = (extra: Record<string, string>) =>
      loadConfig({ env: { ...env, ...extra }, generateMissingSecrets: false, isTty: false });
    assert.deepEqual(load({}).webhooks, { urls: [] });
    assert.deepEqual(load({ WEBHOOK_URLS: ' ' }).webhooks, { urls: [] });
    assert.deepEqual(
      load({ WEBHOOK_URLS: 'https://hooks.example.com/bbmeet?token=x, http://10.0.0.7:8080/' }).webhooks,
      { urls: ['https://hooks.example.com/bbmeet?token=x', 'http://10.0.0.7:8080/'] },
    );
    for (const bad of ['ftp://hooks.example.com', 'hooks.example.com', 'http://']) {
      assert.throws(
        () => load({ WEBHOOK_URLS: bad }),
        (e: Error) => e instanceof ConfigError && e.problems.some((p) => p.startsWith('WEBHOOK_URLS: ')),
        bad,
      );
    }
  });

  it('missing secrets are generated once, kept in the data dir, and reused', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-config-'));
    try {
      const first = loadConfig({ env: { DATA_DIR: dir }, generateMissingSecrets: true, isTty: false });
      assert.equal(first.notices.length, 3);
      const second = loadConfig({ env: { DATA_DIR: dir }, generateMissingSecrets: true, isTty: false });
      assert.deepEqual(second.auth, first.auth);
      const stored = JSON.parse(await readFile(path.join(dir, 'secrets.json'), 'utf8'));
      assert.equal(stored.jwtSecret, first.auth.jwtSecret);
      const given = loadConfig({
        env: { DATA_DIR: dir, AUTH_JWT_SECRET: 'an-explicit-secret-value' },
        generateMissingSecrets: true,
        isTty: false,
      });
      assert.equal(given.auth.jwtSecret, 'an-explicit-secret-value');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('cluster settings: Redis URL, gRPC listen and advertised hosts, drain timeout', () => {
    const c = loadConfig({
      env: {
        REDIS_URL: 'redis://127.0.0.1:6379',
        SFU_PORT: '50052',
        SFU_HOST: '127.0.0.1',
        SFU_ADVERTISED_HOST: '10.0.0.7',
        DRAIN_TIMEOUT_SECONDS: '20',
        CLIENT_SECRET_KEY: 'k',
        AUTH_JWT_SECRET: 'a-jwt-secret-of-16+',
        AUTH_REFRESH_SECRET: 'a-refresh-secret-16+',
      },
      generateMissingSecrets: false,
      isTty: false,
    });
    assert.deepEqual(
      [c.cluster.redisUrl, c.cluster.sfuPort, c.cluster.sfuHost, c.cluster.sfuAdvertisedHost],
      ['redis://127.0.0.1:6379', 50052, '127.0.0.1', '10.0.0.7'],
    );
    assert.equal(c.cluster.drainTimeoutMs, 20_000);
    assert.throws(
      () => loadConfig({ env: { REDIS_URL: 'http://x' }, generateMissingSecrets: true, isTty: false }),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('REDIS_URL')),
    );
  });

  it('cluster roles refuse to start without explicit secrets', () => {
    assert.throws(
      () => loadConfig({ env: {}, generateMissingSecrets: false, isTty: false }),
      (err: unknown) =>
        err instanceof ConfigError && err.problems.some((p) => p.startsWith('AUTH_JWT_SECRET')),
    );
  });

  it('bad values name the variable and what it expects', () => {
    const env = {
      APP_PORT: '70000',
      DATABASE_URL: 'mysql://x',
      PUBLIC_IP: 'nope',
      LOG_LEVEL: 'loud',
      AUTH_JWT_SECRET: 'short',
    };
    try {
      loadConfig({ env, generateMissingSecrets: true, isTty: false });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      for (const name of Object.keys(env)) assert.match(text, new RegExp(`^${name}: `, 'm'));
      assert.match(text, /DATABASE_URL: expected a postgres/);
      assert.match(text, /\(got "mysql:\/\/x"\)/);
    }
  });
  describe('egress', () => {
    const secrets = {
      CLIENT_SECRET_KEY: 'a-client-key',
      AUTH_JWT_SECRET: 'a-jwt-secret-0123456789',
      AUTH_REFRESH_SECRET: 'a-refresh-secret-0123456789',
    };
    const load = (env: Record<string, string>) =>
      loadConfig({ env: { ...secrets, ...env }, generateMissingSecrets: false, isTty: false });
    const problems = (env: Record<string, string>) => {
      try {
        load(env);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
      return assert.fail('expected a ConfigError');
    };

    it('defaults: off, DATA_DIR/egress, 2 s segments, 0.5 s LL-HLS parts, 6 segments, no bucket', () => {
      const c = load({ DATA_DIR: '/srv/bbmeet' });
      assert.equal(c.egress.enabled, false);
      assert.equal(c.egress.httpPort, undefined);
      assert.equal(c.egress.packageDir, undefined);
      assert.deepEqual(c.egress.settings, {
        dataDir: path.resolve('/srv/bbmeet', 'egress'),
        segmentSeconds: 2,
        partSeconds: 0.5,
        windowSegments: 6,
        publicUrl: null,
        storage: null,
      });
    });

    it('EGRESS_* variables fill the settings; the public URL names a directory', () => {
      const c = load({
        EGRESS_ENABLED: 'true',
        EGRESS_DIR: '/var/lib/egress',
        EGRESS_SEGMENT_SECONDS: '4',
        EGRESS_PART_SECONDS: '0',
        EGRESS_WINDOW_SEGMENTS: '10',
        EGRESS_PUBLIC_URL: 'https://media1.example.com/egress',
        EGRESS_HTTP_PORT: '8081',
        EGRESS_PACKAGE_DIR: '/opt/egress',
      });
      assert.equal(c.egress.enabled, true);
      assert.equal(c.egress.httpPort, 8081);
      assert.equal(c.egress.packageDir, path.resolve('/opt/egress'));
      assert.deepEqual(
        [c.egress.settings.dataDir, c.egress.settings.segmentSeconds, c.egress.settings.partSeconds],
        [path.resolve('/var/lib/egress'), 4, 0],
      );
      assert.equal(c.egress.settings.windowSegments, 10);
      assert.equal(c.egress.settings.publicUrl, 'https://media1.example.com/egress/');
      assert.equal(load({ EGRESS_HTTP_PORT: '' }).egress.httpPort, undefined);
    });

    it('SFU_METRICS_PORT sets the SFU node metrics port; empty or unset: none', () => {
      assert.equal(load({ SFU_METRICS_PORT: '9464' }).cluster.sfuMetricsPort, 9464);
      assert.equal(load({ SFU_METRICS_PORT: '' }).cluster.sfuMetricsPort, undefined);
      assert.equal(load({}).cluster.sfuMetricsPort, undefined);
      assert.match(problems({ SFU_METRICS_PORT: '70000' }).join('\n'), /^SFU_METRICS_PORT: /m);
    });

    it('bad EGRESS_* values name the variable', () => {
      const bad = {
        EGRESS_ENABLED: 'maybe',
        EGRESS_SEGMENT_SECONDS: 'two',
        EGRESS_WINDOW_SEGMENTS: '1',
        EGRESS_PUBLIC_URL: 'media1.example.com',
        EGRESS_HTTP_PORT: '70000',
      };
      const text = problems(bad).join('\n');
      for (const name of Object.keys(bad)) assert.match(text, new RegExp(`^${name}: `, 'm'));
    });

    it('EGRESS_PART_SECONDS is 0 or shorter than a segment', () => {
      assert.equal(
        load({ EGRESS_SEGMENT_SECONDS: '1', EGRESS_PART_SECONDS: '0.2' }).egress.settings.partSeconds,
        0.2,
      );
      for (const part of ['2', '3', '0.05'])
        assert.ok(
          problems({ EGRESS_PART_SECONDS: part }).some((p) => p.startsWith('EGRESS_PART_SECONDS: ')),
          part,
        );
    });

    it('uploads use the STORAGE_* bucket, with its endpoint, region and path style', () => {
      const bucket = {
        STORAGE_ACCESS_KEY_ID: 'AKID',
        STORAGE_SECRET_ACCESS_KEY: 'secret',
        STORAGE_BUCKET_NAME: 'recordings',
      };
      const minio = load({
        ...bucket,
        STORAGE_ENDPOINT_URL: 'http://127.0.0.1:9000',
        STORAGE_FORCE_PATH_STYLE: 'true',
      });
      assert.deepEqual(minio.egress.settings.storage, {
        endpoint: 'http://127.0.0.1:9000',
        region: 'auto',
        bucket: 'recordings',
        accessKeyId: 'AKID',
        secretAccessKey: 'secret',
        forcePathStyle: true,
      });
      const aws = load({ ...bucket, STORAGE_REGION: 'eu-west-3' }).egress.settings.storage;
      assert.deepEqual([aws?.endpoint, aws?.forcePathStyle], ['https://s3.eu-west-3.amazonaws.com', false]);
      // Without egress, presigned uploads keep working with an R2-style configuration.
      assert.equal(load(bucket).egress.settings.storage, null);
      assert.ok(
        problems({ ...bucket, EGRESS_ENABLED: 'true' }).some((p) => p.startsWith('STORAGE_ENDPOINT_URL: ')),
      );
    });
  });
});
