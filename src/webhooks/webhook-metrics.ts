import { Counter, Gauge, type Registry } from 'prom-client';
import type { EndpointStats } from './endpoint-queue.ts';

/**
 * The `bbmeet_webhook_*` metrics, labelled by endpoint as `<index>-<host>` (never the whole URL,
 * whose path or query may carry a token).
 */
export class WebhookMetrics {
  readonly #sent: Counter<'endpoint'>;
  readonly #failed: Counter<'endpoint'>;
  readonly #retried: Counter<'endpoint'>;
  readonly #dropped: Counter<'endpoint' | 'reason'>;
  readonly #disabled: Counter<'endpoint'>;
  readonly #queueLengths = new Map<string, () => number>();

  constructor(registry: Registry) {
    const registers = [registry];
    const counter = (name: string, help: string) =>
      new Counter({ name, help, labelNames: ['endpoint'], registers });
    this.#sent = counter('bbmeet_webhook_sent_total', 'webhook events delivered (2xx), by endpoint');
    this.#failed = counter(
      'bbmeet_webhook_failed_total',
      'webhook events given up on (tries exhausted, or refused with a 4xx), by endpoint',
    );
    this.#retried = counter('bbmeet_webhook_retried_total', 'webhook delivery retries, by endpoint');
    this.#dropped = new Counter({
      name: 'bbmeet_webhook_dropped_total',
      help: 'webhook events dropped unsent, by endpoint and reason (overflow, disabled, shutdown)',
      labelNames: ['endpoint', 'reason'],
      registers,
    });
    this.#disabled = counter(
      'bbmeet_webhook_endpoint_disabled_total',
      'times an endpoint was disabled for a while after repeated failures',
    );
    const lengths = this.#queueLengths;
    new Gauge({
      name: 'bbmeet_webhook_queue_length',
      help: 'webhook events waiting to be sent, by endpoint',
      labelNames: ['endpoint'],
      registers,
      collect() {
        for (const [endpoint, length] of lengths) this.set({ endpoint }, length());
      },
    });
  }

  /** The stats of one endpoint; `queueLength` is read at scrape time. */
  forEndpoint(endpoint: string, queueLength: () => number): EndpointStats {
    this.#queueLengths.set(endpoint, queueLength);
    for (const c of [this.#sent, this.#failed, this.#retried, this.#disabled]) c.inc({ endpoint }, 0);
    return {
      sent: () => this.#sent.inc({ endpoint }),
      failed: () => this.#failed.inc({ endpoint }),
      retried: () => this.#retried.inc({ endpoint }),
      dropped: (reason, count) => this.#dropped.inc({ endpoint, reason }, count),
      disabled: () => this.#disabled.inc({ endpoint }),
    };
  }
}

/** The metrics label of the endpoint at `index` of WEBHOOK_URLS. */
export function endpointLabel(index: number, url: string): string {
  return `${index}-${new URL(url).host}`;
}
