import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { startMetricsHttpServer } from './metrics-http-server.ts';

test('startMetricsHttpServer() serves the registry at GET /metrics and 404 elsewhere', async () => {
  const registry = new Registry();
  new Counter({ name: 'bbmeet_test_total', help: 'a test counter', registers: [registry] }).inc(3);
  const server = await startMetricsHttpServer({ registry, host: '127.0.0.1', port: 0 });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await res.text(), /^bbmeet_test_total 3$/m);
    assert.equal((await fetch(`${base}/`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404);
  } finally {
    await server.close();
  }
});
