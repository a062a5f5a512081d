import { io, type Socket } from 'socket.io-client';
import msgpackParser from 'socket.io-msgpack-parser';
import { type ChannelStatus, type SignallingChannel, SignallingError, unwrapAck } from './signalling.ts';

const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * socket.io with the msgpack parser, as the server speaks it. Browsers cannot set the
 * `Authorization` header on a WebSocket, so the token travels in the `auth` payload (the server
 * accepts both). socket.io-client reconnects after transport drops; after a server-side
 * disconnect it does not, so we reconnect ourselves unless the channel was closed.
 */
export class SocketIoChannel implements SignallingChannel {
  readonly #socket: Socket;
  readonly #statusHandlers = new Set<(status: ChannelStatus) => void>();
  #closed = false;

  constructor(url: string, token: string) {
    this.#socket = io(url, {
      parser: msgpackParser,
      transports: ['websocket'],
      autoConnect: false,
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
      auth: { token },
    });
    this.#socket.on('connect', () => this.#status({ type: 'connected' }));
    this.#socket.on('disconnect', (reason) => {
      this.#status({ type: 'disconnected', reason });
      if (reason === 'io server disconnect' && !this.#closed) {
        setTimeout(() => {
          if (!this.#closed) this.#socket.connect();
        }, 500);
      }
    });
    this.#socket.on('connect_error', (err) => this.#status({ type: 'connect_error', message: err.message }));
  }

  get connected(): boolean {
    return this.#socket.connected;
  }

  open(): void {
    this.#closed = false;
    this.#socket.connect();
  }

  close(): void {
    this.#closed = true;
    this.#socket.disconnect();
  }

  async request<T>(event: string, payload: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    let reply: unknown;
    try {
      reply = await this.#socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch {
      throw new SignallingError(event, 'timeout', `no answer within ${timeoutMs} ms`);
    }
    return unwrapAck<T>(event, reply);
  }

  send(event: string, payload: unknown): void {
    this.#socket.emit(event, payload);
  }

  on(event: string, handler: (payload: unknown) => void): () => void {
    this.#socket.on(event, handler);
    return () => this.#socket.off(event, handler);
  }

  onStatus(handler: (status: ChannelStatus) => void): () => void {
    this.#statusHandlers.add(handler);
    return () => this.#statusHandlers.delete(handler);
  }

  #status(status: ChannelStatus): void {
    for (const handler of [...this.#statusHandlers]) handler(status);
  }
}
