import { after, before } from 'node:test';
import type { Socket } from 'socket.io-client';
import { connectSocket, type RestCall, restClient } from './clients.ts';
import { startTestServer, type TestServer } from './server.ts';

type ConnectOptions = Parameters<typeof connectSocket>[2];

/**
 * A test server with its REST client and the socket.io clients the tests open, all closed together
 * (sockets first). `server` and `call` throw until `start` has run.
 */
export class ServerWithClients {
  #server: TestServer | undefined;
  #call: RestCall | undefined;
  readonly #sockets: Socket[] = [];

  get server(): TestServer {
    if (!this.#server) throw new Error('the test server is not started');
    return this.#server;
  }

  get call(): RestCall {
    if (!this.#call) throw new Error('the test server is not started');
    return this.#call;
  }

  async start(start: () => Promise<TestServer> = () => startTestServer()): Promise<void> {
    this.#server = await start();
    this.#call = restClient(this.#server.baseUrl);
  }

  /** A socket of the token's user (or of none), closed with the server. */
  async connect(token: string | undefined, options?: ConnectOptions): Promise<Socket> {
    const socket = await connectSocket(this.server.baseUrl, token, options);
    this.#sockets.push(socket);
    return socket;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets.splice(0)) socket.close();
    await this.#server?.close();
  }
}

/**
 * The server of a describe block: started before its tests (by `start`, the default test server
 * unless given) and closed after them. Call it before the block's own `before`, which can then log
 * users in with `call`.
 */
export function useServerWithClients(start?: () => Promise<TestServer>): ServerWithClients {
  const live = new ServerWithClients();
  before(() => live.start(start));
  after(() => live.close());
  return live;
}
