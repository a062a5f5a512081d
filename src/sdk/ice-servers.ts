/**
 * The STUN/TURN servers the SDK gives its RTCPeerConnections, from the server's
 * `GET /busapi/v3/auth/ice-servers`. TURN credentials are time-limited (TURN REST API: the username
 * is `<expiry unix time>:<user>`), so the list is fetched again before a credential gets close to
 * its expiry, and at the latest after `maxAgeMs`.
 */
export class IceServerSource {
  readonly #fetchServers: () => Promise<RTCIceServer[]>;
  readonly #now: () => number;
  readonly #maxAgeMs: number;
  #cached: { servers: RTCIceServer[]; freshUntilMs: number } | null = null;
  #pending: Promise<RTCIceServer[]> | null = null;

  constructor(options: {
    fetchServers: () => Promise<RTCIceServer[]>;
    now?: () => number;
    /** Longest reuse of one answer (default 10 min). */
    maxAgeMs?: number;
  }) {
    this.#fetchServers = options.fetchServers;
    this.#now = options.now ?? Date.now;
    this.#maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
  }

  /**
   * The servers to use now. A failed fetch (an older server without the route, a network error)
   * gives `[]` for a while: host candidates only, as before ICE servers existed.
   */
  get(): Promise<RTCIceServer[]> {
    const cached = this.#cached;
    if (cached && this.#now() < cached.freshUntilMs) return Promise.resolve(cached.servers);
    this.#pending ??= this.#refresh().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #refresh(): Promise<RTCIceServer[]> {
    const servers = await this.#fetchServers().catch(() => []);
    this.#cached = { servers, freshUntilMs: this.#freshUntil(servers) };
    return servers;
  }

  /** Reused until `maxAgeMs` passed or half the shortest credential lifetime left is gone. */
  #freshUntil(servers: RTCIceServer[]): number {
    const now = this.#now();
    let until = now + this.#maxAgeMs;
    for (const server of servers) {
      const expiryS = Number(/^(\d+):/.exec(server.username ?? '')?.[1] ?? Number.NaN);
      if (Number.isFinite(expiryS)) until = Math.min(until, now + (expiryS * 1000 - now) / 2);
    }
    return until;
  }
}
