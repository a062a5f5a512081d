import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../lib/logger.ts';
import type { WebhookEvent } from '../protocol/webhook-events.ts';
import { WebhookMetrics } from './webhook-metrics.ts';
import { verifyWebhook } from './webhook-signature.ts';
import { WebhookSink } from './webhook-sink.ts';

const SECRET = 'sink-test-secret';

/** A receiver on 127.0.0.1 that records each request and answers with `respond`. */
async function receiver(respond: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const received: Array<{ body: string; signature: string | undefined }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      received.push({ body, signature: req.headers['x-bbmeet-signature'] as string | undefined });
      respond(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks?token=abc`;
  return { server, received, url };
}

const room = { id: '7', code: 'abc-defg-hij', title: 'Standup' };

describe('WebhookSink', () => {
  it('POSTs each event once per endpoint with an id, createdAt and a valid signature; close() flushes the queue first', async () => {
    const r = await receiver((_req, res) => res.writeHead(204).end());
    const registry = new Registry();
    const sink = new WebhookSink({
      urls: [r.url],
      secret: SECRET,
      metrics: new WebhookMetrics(registry),
      logger: silentLogger(),
    });
    try {
      sink.emit({ event: 'room_started', room });
      sink.emit({ event: 'room_finished', room });
      await sink.close(5_000);
      const bodies = r.received.map((x) => JSON.parse(x.body) as WebhookEvent);
      assert.deepEqual(
        bodies.map((b) => b.event),
        ['room_started', 'room_finished'],
      );
      assert.notEqual(bodies[0]!.id, bodies[1]!.id);
      assert.ok(Math.abs(bodies[0]!.createdAt - Date.now()) < 60_000);
      assert.deepEqual(bodies[0]!.room, room);
      for (const x of r.received) assert.equal(verifyWebhook(SECRET, x.signature, x.body), true);
      const metrics = await registry.metrics();
      assert.match(metrics, /bbmeet_webhook_sent_total\{endpoint="0-127\.0\.0\.1:\d+"\} 2/);
      assert.doesNotMatch(metrics, /token=abc/, 'the URL query is no label');
      sink.emit({ event: 'room_started', room });
      assert.equal(r.received.length, 2, 'nothing is queued after close()');
    } finally {
      r.server.close();
    }
  });

  it('close() gives a receiver that never answers until the deadline, then drops the event and counts it', async () => {
    const r = await receiver(() => undefined);
    const registry = new Registry();
    const sink = new WebhookSink({
      urls: [r.url],
      secret: SECRET,
      metrics: new WebhookMetrics(registry),
      logger: silentLogger(),
    });
    try {
      sink.emit({ event: 'room_started', room });
      sink.emit({ event: 'room_finished', room });
      const started = performance.now();
      await sink.close(300);
      assert.ok(
        performance.now() - started < 4_000,
        'close() keeps to its deadline, not the request timeout',
      );
      assert.equal(r.received.length, 1, 'the second waits for the first (same room)');
      const metrics = await registry.metrics();
      assert.match(metrics, /bbmeet_webhook_dropped_total\{endpoint="0-[^"]+",reason="shutdown"\} 2/);
    } finally {
      r.server.closeAllConnections();
      r.server.close();
    }
  });
});
