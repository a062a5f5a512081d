// sdk/: the BBMEET browser SDK (bundled by esbuild into /sdk/bbmeet.js). Browser code only: it
// may import socket.io-client and socket.io-msgpack-parser, and nothing from the server's src/.
import { BrowserMedia } from './browser-media.ts';
import { IceServerSource } from './ice-servers.ts';
import { type CaptureOptions, LocalMedia } from './local-media.ts';
import type { PublishOptions } from './media.ts';
import { type EgressApi, FetchRoomApi, HttpError, type RoomApi } from './rest.ts';
import { type JoinOptions, Room } from './room.ts';
import { type SignallingChannel, waitConnected } from './signalling.ts';
import { SocketIoChannel } from './socket-channel.ts';
import type { UserJson } from './types.ts';

export { Emitter } from './emitter.ts';
export { IceServerSource } from './ice-servers.ts';
export {
  type CaptureOptions,
  type DeviceList,
  describeMediaError,
  LocalMedia,
  MediaAccessError,
  type MediaAccessProblem,
} from './local-media.ts';
export type { MediaController, PublishOptions } from './media.ts';
export { type EgressApi, FetchRoomApi, HttpError, type IceServersApi, type RoomApi } from './rest.ts';
export { type JoinOptions, Room, type RoomOptions } from './room.ts';
export { type ChannelStatus, type SignallingChannel, SignallingError } from './signalling.ts';
export { canTransition, StateError } from './state.ts';
export { type ConnectionStats, formatBitrate, type VideoStats } from './stats.ts';
export type * from './types.ts';

export interface ConnectOptions {
  /** The server, e.g. `https://meet.example.com` (default: the page's origin). */
  url?: string;
  /** An access token (POST /busapi/v3/auth, or the guest login). */
  token: string;
  /** The server's client API key (`X-API-Key`), needed by the REST routes. */
  apiKey: string;
  /** How long to wait for the socket before failing as "server unreachable" (default 10 s). */
  timeoutMs?: number;
}

export interface ClientJoinOptions extends JoinOptions {
  /** The camera and microphone to send (default: opened here with `capture`). */
  media?: LocalMedia;
  capture?: CaptureOptions;
  /** Simulcast (default on) and the preferred video codec (default VP8). */
  publish?: Partial<PublishOptions>;
  reconnectTimeoutMs?: number;
  /** ICE restart timing (RoomOptions): `disconnected` this long → restart (default 2 s)... */
  iceDisconnectedMs?: number;
  /** ...and the full rejoin when the restart has not succeeded by then (default 10 s). */
  iceRestartTimeoutMs?: number;
  /**
   * `relay`: connect only through the server's TURN relays (GET /auth/ice-servers), e.g. to test
   * a TURN deployment; default `all`.
   */
  iceTransportPolicy?: RTCIceTransportPolicy;
}

/** A connection to a BBMEET (Waterbus-compatible) server: one socket, one room at a time. */
export class Client {
  readonly url: string;
  readonly api: RoomApi;
  readonly signalling: SignallingChannel;
  /** Go live, record, MoQ: the room host's egress control (REST); null when not given. */
  readonly egress: EgressApi | null;
  /** The STUN/TURN servers of the connections; null: none (host candidates only). */
  readonly iceServers: IceServerSource | null;

  constructor(
    url: string,
    api: RoomApi,
    signalling: SignallingChannel,
    egress: EgressApi | null = null,
    iceServers: IceServerSource | null = null,
  ) {
    this.url = url;
    this.api = api;
    this.signalling = signalling;
    this.egress = egress;
    this.iceServers = iceServers;
  }

  /** Joins a room (by code, by id, or a new one with `title`) and starts sending and receiving. */
  async join(options: ClientJoinOptions = {}): Promise<Room> {
    const local = options.media ?? (await LocalMedia.open(options.capture));
    const source = this.iceServers;
    // Fetched before any connection exists, so that the first ones do not wait for it.
    await source?.get();
    const media = new BrowserMedia(local, {
      ...(source ? { iceServers: () => source.get() } : {}),
      ...(options.iceTransportPolicy ? { iceTransportPolicy: options.iceTransportPolicy } : {}),
    });
    const room = new Room({
      signalling: this.signalling,
      api: this.api,
      media,
      ...(options.publish ? { publish: options.publish } : {}),
      ...(options.reconnectTimeoutMs ? { reconnectTimeoutMs: options.reconnectTimeoutMs } : {}),
      ...(options.iceDisconnectedMs ? { iceDisconnectedMs: options.iceDisconnectedMs } : {}),
      ...(options.iceRestartTimeoutMs ? { iceRestartTimeoutMs: options.iceRestartTimeoutMs } : {}),
    });
    await room.join(options);
    return room;
  }

  close(): void {
    this.signalling.close();
  }
}

function defaultUrl(url: string | undefined): string {
  const base = url ?? globalThis.location?.origin;
  if (!base) throw new Error('bbmeet: connect needs a url');
  return base.replace(/\/+$/, '');
}

/** Opens the socket; rejects with a SignallingError (`unreachable`, `unauthenticated`) when it cannot. */
export async function connect(options: ConnectOptions): Promise<Client> {
  const url = defaultUrl(options.url);
  const channel = new SocketIoChannel(url, options.token);
  const rest = new FetchRoomApi({ url, token: options.token, apiKey: options.apiKey });
  const iceServers = new IceServerSource({ fetchServers: () => rest.iceServers() });
  const client = new Client(url, rest, channel, rest, iceServers);
  try {
    await waitConnected(channel, options.timeoutMs ?? 10_000, url);
  } catch (err) {
    channel.close();
    throw err;
  }
  return client;
}

export interface GuestSession {
  token: string;
  refreshToken: string;
  apiKey: string;
  user: UserJson;
}

/**
 * Guest login (`POST /busapi/v3/guest/login`, when the server enables it): a new user with this
 * display name, its tokens and the API key. Throws HttpError (status 0 when the server is unreachable).
 */
export async function guestLogin(options: { url?: string; name: string }): Promise<GuestSession> {
  const url = defaultUrl(options.url);
  let res: Response;
  try {
    res = await fetch(`${url}/busapi/v3/guest/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fullName: options.name }),
    });
  } catch (err) {
    throw new HttpError(
      0,
      `server unreachable at ${url} (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as Partial<GuestSession> & { message?: string };
  if (!res.ok) throw new HttpError(res.status, body.message ?? `guest login failed (${res.status})`);
  return body as GuestSession;
}

/** Finds the room with this code or creates it (guest route; the demo's `?room=NAME`). */
export async function ensureGuestRoom(options: {
  url?: string;
  token: string;
  apiKey: string;
  code: string;
}): Promise<{ id: number; code: string; title: string }> {
  const url = defaultUrl(options.url);
  const res = await fetch(`${url}/busapi/v3/guest/rooms`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': options.apiKey,
      authorization: `Bearer ${options.token}`,
    },
    body: JSON.stringify({ code: options.code }),
  });
  const body = (await res.json().catch(() => ({}))) as {
    id: number;
    code: string;
    title: string;
    message?: string;
  };
  if (!res.ok) throw new HttpError(res.status, body.message ?? `room lookup failed (${res.status})`);
  return body;
}
