import type net from 'node:net';
import type { PacketStream, RemoteAddress } from '../ice/ice-lite-agent.ts';
import { FRAME_HEADER_BYTES, FrameReader, MAX_FRAME_BYTES } from './rfc4571-framing.ts';

/**
 * Bytes a connection may have waiting in its socket's user-space write buffer before RTP is
 * dropped: about 170 full-size packets, a fifth of a second of a 10 Mbit/s subscriber. A reader
 * slower than that loses media (its bandwidth estimate then falls) instead of growing our memory.
 */
export const WRITE_BUFFER_LIMIT_BYTES = 256 * 1024;
/** Beyond this even RTCP, STUN and DTLS are dropped: the peer has stopped reading altogether. */
export const WRITE_BUFFER_HARD_LIMIT_BYTES = 2 * WRITE_BUFFER_LIMIT_BYTES;

export interface IceTcpStats {
  connectionsAccepted: number;
  /** Connections refused at accept (the worker's connection limit). */
  connectionsRefused: number;
  /** Connections closed for bad framing (zero length) or a frame that is none of STUN/DTLS/RTP. */
  framingErrors: number;
  framesReceived: number;
  framesSent: number;
  /** STUN checks naming no transport of this worker. */
  unknownUsername: number;
  /** DTLS or SRTP on a connection no transport selected, dropped. */
  unboundFrames: number;
  /** RTP dropped because the peer reads too slowly (write buffer past WRITE_BUFFER_LIMIT_BYTES). */
  rtpDropped: number;
  /** RTCP, STUN or DTLS dropped past WRITE_BUFFER_HARD_LIMIT_BYTES, or anything sent after close. */
  otherDropped: number;
}

export function emptyIceTcpStats(): IceTcpStats {
  return {
    connectionsAccepted: 0,
    connectionsRefused: 0,
    framingErrors: 0,
    framesReceived: 0,
    framesSent: 0,
    unknownUsername: 0,
    unboundFrames: 0,
    rtpDropped: 0,
    otherDropped: 0,
  };
}

/** What a connection hands its frames to: the endpoint's demultiplexer (first byte, RFC 7983). */
export interface FrameHandler {
  /** False when the frame is none of STUN, DTLS, RTP or RTCP: the connection is then closed. */
  onFrame(frame: Buffer, from: RemoteAddress): boolean;
  onClosed(connection: IceTcpConnection): void;
}

/**
 * One accepted ICE-TCP connection (RFC 6544 passive side): RFC 4571 frames both ways. Its
 * `address` is the RemoteAddress a transport selects when the peer's checks arrive on it, so sends
 * to that address come back here. Writes are corked for the current tick and flushed together.
 *
 * Lifecycle: open on accept → closed by the peer, a framing error, or close(); once closed, writes
 * are dropped and counted.
 */
export class IceTcpConnection implements PacketStream {
  readonly address: RemoteAddress;
  readonly #socket: net.Socket;
  readonly #stats: IceTcpStats;
  readonly #handler: FrameHandler;
  readonly #reader: FrameReader;
  #closed = false;
  #corked = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    if (!this.#closed) this.#socket.uncork();
  };

  constructor(socket: net.Socket, stats: IceTcpStats, handler: FrameHandler) {
    this.#socket = socket;
    this.#stats = stats;
    this.#handler = handler;
    this.address = {
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
      family: socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4',
      stream: this,
    };
    this.#reader = new FrameReader((frame) => this.#onFrame(frame));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => this.close());
    // A reset by the peer ends the connection like a close; nothing else to do with it.
    socket.on('error', () => undefined);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Frames packet[0..length) and queues it, unless the peer's backlog says to drop it. */
  write(packet: Buffer, length = packet.length): void {
    if (this.#closed || length === 0 || length > MAX_FRAME_BYTES || this.#mustDrop(packet)) {
      if (isRtp(packet)) this.#stats.rtpDropped++;
      else this.#stats.otherDropped++;
      return;
    }
    const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
    out.writeUInt16BE(length, 0);
    packet.copy(out, FRAME_HEADER_BYTES, 0, length);
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      queueMicrotask(this.#uncork);
    }
    this.#socket.write(out);
    this.#stats.framesSent++;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#handler.onClosed(this);
  }

  /** RTP goes first when the peer falls behind; control traffic only when it stopped reading. */
  #mustDrop(packet: Buffer): boolean {
    const queued = this.#socket.writableLength;
    if (queued >= WRITE_BUFFER_HARD_LIMIT_BYTES) return true;
    return queued >= WRITE_BUFFER_LIMIT_BYTES && isRtp(packet);
  }

  #onData(chunk: Buffer): void {
    if (this.#reader.push(chunk)) this.#fail();
  }

  #onFrame(frame: Buffer): void {
    if (this.#closed) return;
    this.#stats.framesReceived++;
    if (!this.#handler.onFrame(frame, this.address)) this.#fail();
  }

  #fail(): void {
    if (this.#closed) return;
    this.#stats.framingErrors++;
    this.close();
  }
}

/** RTP, not RTCP (RFC 5761 §4: RTCP packet types 192-223 in the second byte). */
function isRtp(packet: Buffer): boolean {
  const first = packet[0] ?? 0;
  const type = packet[1] ?? 0;
  return first >= 128 && first <= 191 && (type < 192 || type > 223);
}
