/**
 * The socket seam: what the Room needs from socket.io. The browser implementation is
 * `socket-channel.ts`; unit tests use an in-memory fake server.
 */

export type ChannelStatus =
  /** Connected (first time or again after a drop). */
  | { type: 'connected' }
  /** The connection dropped; the channel is trying again on its own. */
  | { type: 'disconnected'; reason: string }
  /** A connection attempt failed (server unreachable, token refused). */
  | { type: 'connect_error'; message: string };

export interface SignallingChannel {
  readonly connected: boolean;
  /** Starts connecting; reconnects on its own after drops until `close`. */
  open(): void;
  close(): void;
  /** Emits with an ack; rejects with a `SignallingError` when the server answers `{ error }`. */
  request<T = Record<string, unknown>>(event: string, payload: unknown, timeoutMs?: number): Promise<T>;
  /** Emits without an ack (fire and forget). */
  send(event: string, payload: unknown): void;
  on(event: string, handler: (payload: unknown) => void): () => void;
  onStatus(handler: (status: ChannelStatus) => void): () => void;
}

export class SignallingError extends Error {
  readonly code: string;
  readonly event: string;

  constructor(event: string, code: string, message: string) {
    super(`${event}: ${message} (${code})`);
    this.name = 'SignallingError';
    this.event = event;
    this.code = code;
  }
}

/** The ack of a request: the handler's result, or `{ error: { code, message } }`. */
export function unwrapAck<T>(event: string, reply: unknown): T {
  if (reply && typeof reply === 'object' && 'error' in reply) {
    const error = (reply as { error: { code?: string; message?: string } }).error;
    throw new SignallingError(event, error.code ?? 'unknown', error.message ?? 'request failed');
  }
  return reply as T;
}

/**
 * Opens the socket and waits until it is connected; rejects as `unreachable` after `timeoutMs`, at
 * once as `unauthenticated` when the server refuses our token. `url` goes in the unreachable message.
 */
export function waitConnected(signalling: SignallingChannel, timeoutMs: number, url?: string): Promise<void> {
  if (signalling.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError = '';
    const timer = setTimeout(() => {
      off();
      reject(
        new SignallingError(
          'connect',
          'unreachable',
          `server unreachable${url ? ` at ${url}` : ''}${lastError ? ` (${lastError})` : ''}`,
        ),
      );
    }, timeoutMs);
    const off = signalling.onStatus((status) => {
      if (status.type === 'connected') {
        clearTimeout(timer);
        off();
        resolve();
      } else if (status.type === 'connect_error') {
        lastError = status.message;
        // A refused token will not get better by waiting.
        if (/token|authori[sz]ation/i.test(status.message)) {
          clearTimeout(timer);
          off();
          reject(new SignallingError('connect', 'unauthenticated', status.message));
        }
      }
    });
    signalling.open();
  });
}
