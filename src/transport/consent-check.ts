import type { WebRtcTransport } from './webrtc-transport.ts';

/** A transport that never received a valid check is dropped after this long (no peer came). */
const CONNECT_TIMEOUT_MS = 30_000;
const CHECK_INTERVAL_MS = 1000;

/**
 * Closes an endpoint's transports whose peer is gone ('consent_timeout'), looked at once a second:
 * no valid check for the consent timeout (RFC 7675), or none at all within CONNECT_TIMEOUT_MS of
 * being made.
 *
 * Lifecycle: one per UdpEndpoint, started by its bind(), stopped by its close().
 */
export class ConsentCheck {
  readonly #transports: ReadonlySet<WebRtcTransport>;
  readonly #timeoutMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(transports: ReadonlySet<WebRtcTransport>, timeoutMs: number) {
    this.#transports = transports;
    this.#timeoutMs = timeoutMs;
  }

  start(): void {
    this.#timer = setInterval(() => this.#check(Date.now()), CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #check(nowMs: number): void {
    for (const transport of this.#transports) {
      const lastCheckMs = transport.agent.lastCheckMs;
      if (lastCheckMs > 0 && nowMs - lastCheckMs > this.#timeoutMs) transport.close('consent_timeout');
      else if (transport.state === 'new' && nowMs - transport.createdMs > CONNECT_TIMEOUT_MS)
        transport.close('consent_timeout');
    }
  }
}
