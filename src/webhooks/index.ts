// webhooks: room events POSTed to the operator's endpoints (WEBHOOK_URLS), signed, queued per room.
// May import lib/ and protocol/ only; roles/ hand the sink to signalling as a WebhookEmitter.

export { WebhookMetrics } from './webhook-metrics.ts';
export { SIGNATURE_HEADER, signWebhook, verifyWebhook } from './webhook-signature.ts';
export { WEBHOOK_DEFAULTS, WebhookSink, type WebhookSinkOptions } from './webhook-sink.ts';
