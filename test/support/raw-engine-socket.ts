/**
 * An Engine.IO v4 connection over a raw WebSocket, below socket.io: the test chooses every byte of
 * every binary frame (as an attacker would), while the handshake and pings are answered for it.
 */
export class RawEngineSocket {
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #ws: WebSocket;
  readonly #binary: Uint8Array[] = [];
  #waiter: (() => void) | undefined;
  #isClosed = false;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.closed = new Promise((resolve) => {
      ws.addEventListener('close', (e) => {
        this.#isClosed = true;
        this.#waiter?.();
        resolve({ code: e.code, reason: e.reason });
      });
    });
    ws.addEventListener('message', (e: MessageEvent) => {
      if (typeof e.data === 'string') {
        // Engine.IO ping ("2") must be answered with a pong ("3") or the server drops us.
        if (e.data === '2') ws.send('3');
        return;
      }
      this.#binary.push(new Uint8Array(e.data as ArrayBuffer));
      this.#waiter?.();
    });
  }

  /** Opens the WebSocket and waits for Engine.IO's open packet (`0{"sid":…}`). */
  static async open(baseUrl: string, timeoutMs = 5000): Promise<RawEngineSocket> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    ws.binaryType = 'arraybuffer';
    const socket = new RawEngineSocket(ws);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no Engine.IO open packet')), timeoutMs);
      ws.addEventListener('message', function onOpen(e: MessageEvent) {
        if (typeof e.data !== 'string' || !e.data.startsWith('0')) return;
        ws.removeEventListener('message', onOpen);
        clearTimeout(timer);
        resolve();
      });
      ws.addEventListener('error', () => {
        clearTimeout(timer);
        reject(new Error('WebSocket error before the Engine.IO open packet'));
      });
    });
    return socket;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** One binary WebSocket frame: in Engine.IO v4 a binary message is sent as is, without a prefix. */
  send(bytes: Uint8Array<ArrayBuffer>): void {
    this.#ws.send(bytes);
  }

  /** The next binary frame from the server; rejects if the connection closes or after `timeoutMs`. */
  async nextBinary(timeoutMs = 5000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.#binary.length === 0) {
      if (this.#isClosed) throw new Error('connection closed while waiting for a binary frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a binary frame');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#binary.shift()!;
  }

  /** Resolves when the server closes the connection; rejects after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.#ws.close();
  }
}
