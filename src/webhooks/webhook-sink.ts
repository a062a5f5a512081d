import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { WebhookEmitter, WebhookEvent, WebhookEventInput } from '../protocol/webhook-events.ts';
import { EndpointQueue, type EndpointQueueOptions } from './endpoint-queue.ts';
import { httpSender, type Send } from './http-sender.ts';
import { endpointLabel, type WebhookMetrics } from './webhook-metrics.ts';

/** Delivery settings; the defaults suit a receiver on the same network or the internet. */
export const WEBHOOK_DEFAULTS = {
  /** One attempt without an answer after this long fails (and is retried). */
  timeoutMs: 5_000,
  /** Five tries: after 0.5, 1, 2 and 4 s of backoff, an event is given up on ~12.5 s + timeouts later. */
  maxAttempts: 5,
  backoffMs: 500,
  maxQueued: 1_000,
  disableAfterFailures: 10,
  disabledForMs: 60_000,
} as const;

export interface WebhookSinkOptions {
  urls: string[];
  /** The API secret (CLIENT_SECRET_KEY): it signs every request. */
  secret: string;
  metrics: WebhookMetrics;
  logger: Logger;
  clock?: Clock;
  /** Replaces the HTTP sender of each URL (tests). */
  send?: (url: string) => Send;
  settings?: Partial<typeof WEBHOOK_DEFAULTS>;
}

/**
 * The WebhookEmitter that POSTs each event to every WEBHOOK_URLS endpoint: the event gets its `id`
 * and `createdAt`, is serialised once and queued per endpoint (EndpointQueue: ordered per room,
 * retried, bounded). Lifecycle: emit() until close(deadlineMs), which flushes what is queued.
 */
export class WebhookSink implements WebhookEmitter {
  readonly #queues: EndpointQueue[];
  readonly #clock: Clock;
  readonly #log: Logger;
  #closed = false;

  constructor(options: WebhookSinkOptions) {
    const settings = { ...WEBHOOK_DEFAULTS, ...options.settings };
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger;
    this.#queues = options.urls.map((url, index) => {
      const label = endpointLabel(index, url);
      const queueOptions: EndpointQueueOptions = {
        ...settings,
        send:
          options.send?.(url) ?? httpSender({ url, secret: options.secret, timeoutMs: settings.timeoutMs }),
        clock: this.#clock,
        stats: options.metrics.forEndpoint(label, () => queue.length),
        logger: options.logger.child({ endpoint: label }),
      };
      const queue = new EndpointQueue(queueOptions);
      return queue;
    });
  }

  emit(input: WebhookEventInput): void {
    if (this.#closed) return;
    const event: WebhookEvent = { ...input, id: randomUUID(), createdAt: this.#clock.nowMs() };
    const body = JSON.stringify(event);
    for (const queue of this.#queues) queue.push(input.room.id, body);
  }

  /** Waits up to `deadlineMs` for the queued events to be delivered, then drops the rest. */
  async close(deadlineMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const left = await Promise.all(this.#queues.map((q) => q.flush(deadlineMs)));
    const unsent = left.reduce((a, b) => a + b, 0);
    if (unsent > 0) this.#log.warn({ unsent }, 'webhook events unsent at the shutdown deadline');
    await Promise.all(this.#queues.map((q) => q.close()));
  }
}
