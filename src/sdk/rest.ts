import type { EgressJson, MessageJson, RoomJson, StartEgressOptions, UserJson } from './types.ts';

/** The REST calls the Room makes (Waterbus routes under /busapi/v3). Unit tests fake it. */
export interface RoomApi {
  /** GET /rooms/:code */
  roomByCode(code: string): Promise<RoomJson>;
  /** POST /rooms */
  createRoom(title: string, password?: string): Promise<RoomJson>;
  /** POST /rooms/:id/join: the reply's participants hold the new participant of the caller. */
  joinRoom(roomId: number, password?: string): Promise<RoomJson>;
  /** POST /chats/:roomId */
  sendChat(roomId: number, data: string): Promise<MessageJson>;
  /** GET /chats/:roomId (newest first) */
  listChat(roomId: number, limit?: number): Promise<MessageJson[]>;
  /** GET /users (the caller) */
  me(): Promise<UserJson>;
}

/**
 * Egress control of a room, for its host (REST under /busapi/v3/rooms/:roomId/egress). A server
 * without egress answers 501 (HttpError.status), someone else than the host 403.
 */
export interface EgressApi {
  /** POST /rooms/:roomId/egress */
  startEgress(roomId: number, options: StartEgressOptions): Promise<EgressJson>;
  /** GET /rooms/:roomId/egress: running and recently ended. */
  listEgress(roomId: number): Promise<EgressJson[]>;
  /** DELETE /rooms/:roomId/egress/:egressId: answers once the files are finalised. */
  stopEgress(roomId: number, egressId: string): Promise<EgressJson>;
}

/** GET /auth/ice-servers: STUN and TURN servers with time-limited TURN credentials. */
export interface IceServersApi {
  iceServers(): Promise<RTCIceServer[]>;
}

export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

export const API_PREFIX = '/busapi/v3';

/**
 * A `fetch` REST client: the `X-API-Key` header (Waterbus' shared client key) and the access token
 * as `Authorization: Bearer`. Errors become `HttpError` with the server's `{ message }`.
 */
export class FetchRoomApi implements RoomApi, EgressApi, IceServersApi {
  readonly #base: string;
  readonly #token: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;

  constructor(options: { url: string; token: string; apiKey: string; fetch?: typeof fetch }) {
    this.#base = options.url.replace(/\/+$/, '') + API_PREFIX;
    this.#token = options.token;
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  roomByCode(code: string): Promise<RoomJson> {
    return this.#call('GET', `/rooms/${encodeURIComponent(code)}`);
  }

  createRoom(title: string, password?: string): Promise<RoomJson> {
    return this.#call('POST', '/rooms', { title, ...(password ? { password } : {}) });
  }

  joinRoom(roomId: number, password?: string): Promise<RoomJson> {
    return this.#call('POST', `/rooms/${roomId}/join`, password ? { password } : {});
  }

  sendChat(roomId: number, data: string): Promise<MessageJson> {
    return this.#call('POST', `/chats/${roomId}`, { data });
  }

  async listChat(roomId: number, limit = 50): Promise<MessageJson[]> {
    const res = await this.#call<{ messages: MessageJson[] }>('GET', `/chats/${roomId}?limit=${limit}`);
    return res.messages;
  }

  me(): Promise<UserJson> {
    return this.#call('GET', '/users');
  }

  async iceServers(): Promise<RTCIceServer[]> {
    const res = await this.#call<{ iceServers: RTCIceServer[] }>('GET', '/auth/ice-servers');
    return res.iceServers;
  }

  startEgress(roomId: number, options: StartEgressOptions): Promise<EgressJson> {
    return this.#call('POST', `/rooms/${roomId}/egress`, options);
  }

  listEgress(roomId: number): Promise<EgressJson[]> {
    return this.#call('GET', `/rooms/${roomId}/egress`);
  }

  stopEgress(roomId: number, egressId: string): Promise<EgressJson> {
    return this.#call('DELETE', `/rooms/${roomId}/egress/${encodeURIComponent(egressId)}`);
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {
      'x-api-key': this.#apiKey,
      authorization: `Bearer ${this.#token}`,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.#fetch(this.#base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new HttpError(0, `server unreachable (${err instanceof Error ? err.message : String(err)})`);
    }
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // plain-text replies stay text
    }
    if (!res.ok) {
      const message =
        json && typeof json === 'object' && 'message' in json ? String(json.message) : String(text);
      throw new HttpError(res.status, `${method} ${path}: ${message}`);
    }
    return json as T;
  }
}
