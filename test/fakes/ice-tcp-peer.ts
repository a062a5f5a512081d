import net from 'node:net';
import { FrameReader, frame } from '../../src/transport/ice-tcp/rfc4571-framing.ts';
import { ScriptedPeer } from './scripted-peer.ts';

/** A scripted ICE-TCP peer (RFC 6544 active side): checks, DTLS client and SRTP over RFC 4571 frames. */
export class TcpPeer extends ScriptedPeer {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  readonly #reader = new FrameReader((f) => this.handle(Buffer.from(f)));

  constructor(port: number, host = '127.0.0.1') {
    super('tcppeer', 'tcp-peer-password-012345');
    this.socket = net.connect(port, host);
    this.socket.on('data', (chunk: Buffer) => this.#reader.push(chunk));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
  }

  /** Resolves once connected; rejects when the connection fails (refused, nothing there). */
  async connected(): Promise<void> {
    if (this.socket.readyState !== 'open')
      await new Promise((resolve, reject) => {
        this.socket.once('connect', resolve);
        this.socket.once('error', reject);
      });
  }

  sendFramed(packet: Buffer): void {
    this.socket.write(frame(packet)!);
  }

  protected transmit(packet: Buffer): void {
    this.sendFramed(packet);
  }

  close(): void {
    this.dtls?.close();
    this.socket.destroy();
  }
}
