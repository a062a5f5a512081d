// How a load peer negotiates: with the BBMEET server as a Waterbus client does (socket.io with the
// msgpack parser, room.publish / room.subscribe / room.answer_subscriber), or with the werift
// baseline forwarder over a small HTTP API of its own.
import { io, type Socket } from 'socket.io-client';
import msgpackParser from 'socket.io-msgpack-parser';

export interface Signal {
  /** Sends the publisher offer; resolves with the answer. */
  publish(offerSdp: string, media: { video: boolean; audio: boolean }): Promise<string>;
  /** Asks for `targetId`'s tracks; resolves with the server's offer. */
  subscribe(targetId: string): Promise<string>;
  answer(targetId: string, sdp: string): Promise<void>;
  /** Later offers for an existing subscription (new tracks). */
  onRenegotiation(handler: (targetId: string, sdp: string) => void): void;
  close(): void;
}

/** What the orchestrator hands a load process per Waterbus participant. */
export interface WaterbusIdentity {
  baseUrl: string;
  token: string;
  roomId: string;
  participantId: string;
}

const TIMEOUT_MS = 20_000;

function once<T>(socket: Socket, event: string, accept: (payload: T) => boolean): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, on);
      reject(new Error(`timed out waiting for ${event}`));
    }, TIMEOUT_MS);
    const on = (payload: T) => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      socket.off(event, on);
      resolve(payload);
    };
    socket.on(event, on);
  });
}

export class WaterbusSignal implements Signal {
  readonly #id: WaterbusIdentity;
  readonly #socket: Socket;

  private constructor(id: WaterbusIdentity, socket: Socket) {
    this.#id = id;
    this.#socket = socket;
    socket.on('system.error', (e: { event: string; message: string }) =>
      process.stderr.write(`bench: server refused ${e.event}: ${e.message}\n`),
    );
  }

  static async connect(id: WaterbusIdentity): Promise<WaterbusSignal> {
    const socket = io(id.baseUrl, {
      parser: msgpackParser,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      extraHeaders: { Authorization: `Bearer ${id.token}` },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => {
        socket.close();
        reject(err);
      });
    });
    let reply: { restored?: boolean; error?: { code: string; message: string } };
    try {
      reply = await socket.timeout(TIMEOUT_MS).emitWithAck('room.reconnect', {
        roomId: id.roomId,
        participantId: id.participantId,
      });
    } catch (err) {
      socket.close();
      throw new Error(`room.reconnect: ${(err as Error).message}`);
    }
    // Without it every later request of this participant is refused ('not in a room'): say why here.
    if (reply?.restored !== true) {
      socket.close();
      throw new Error(`room.reconnect refused: ${reply?.error?.message ?? JSON.stringify(reply)}`);
    }
    return new WaterbusSignal(id, socket);
  }

  async publish(offerSdp: string, media: { video: boolean; audio: boolean }): Promise<string> {
    const answered = once<{ sdp: string }>(this.#socket, 'room.publish', () => true);
    this.#socket.emit('room.publish', {
      sdp: offerSdp,
      roomId: this.#id.roomId,
      participantId: this.#id.participantId,
      isVideoEnabled: media.video,
      isAudioEnabled: media.audio,
      isE2eeEnabled: false,
      totalTracks: Number(media.video) + Number(media.audio),
      connectionType: 1,
    });
    return (await answered).sdp;
  }

  async subscribe(targetId: string): Promise<string> {
    const offered = once<{ offer: string; targetId: string }>(
      this.#socket,
      'room.answer_subscriber',
      (m) => String(m.targetId) === targetId,
    );
    this.#socket.emit('room.subscribe', {
      targetId,
      roomId: this.#id.roomId,
      participantId: this.#id.participantId,
    });
    return (await offered).offer;
  }

  async answer(targetId: string, sdp: string): Promise<void> {
    this.#socket.emit('room.answer_subscriber', {
      roomId: this.#id.roomId,
      targetId,
      sdp,
      connectionType: 1,
    });
  }

  onRenegotiation(handler: (targetId: string, sdp: string) => void): void {
    this.#socket.on('room.subscriber_renegotiation', (m: { targetId: string; sdp: string }) =>
      handler(String(m.targetId), m.sdp),
    );
  }

  close(): void {
    this.#socket.emit('room.leave', { roomId: this.#id.roomId });
    this.#socket.close();
  }
}

/** The werift baseline's signalling: POST JSON to its HTTP server. */
export class HttpSignal implements Signal {
  readonly #baseUrl: string;
  readonly #peerId: string;

  constructor(baseUrl: string, peerId: string) {
    this.#baseUrl = baseUrl;
    this.#peerId = peerId;
  }

  async #post(path: string, body: unknown): Promise<{ sdp: string }> {
    const res = await fetch(`${this.#baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { sdp: string };
  }

  async publish(offerSdp: string): Promise<string> {
    return (await this.#post('/publish', { peerId: this.#peerId, sdp: offerSdp })).sdp;
  }

  async subscribe(targetId: string): Promise<string> {
    return (await this.#post('/subscribe', { peerId: this.#peerId, targetId })).sdp;
  }

  async answer(targetId: string, sdp: string): Promise<void> {
    await this.#post('/answer', { peerId: this.#peerId, targetId, sdp });
  }

  onRenegotiation(): void {}

  close(): void {}
}
