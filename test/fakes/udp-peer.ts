import dgram from 'node:dgram';
import type { DtlsCertificate } from '../../src/transport/dtls/dtls-certificate.ts';
import type { UdpEndpoint } from '../../src/transport/udp-endpoint.ts';
import type { WebRtcTransport } from '../../src/transport/webrtc-transport.ts';
import { checkConnectivity, completeDtls, ScriptedPeer } from './scripted-peer.ts';

/** A scripted remote peer: ICE-controlling checks, DTLS client, SRTP, over its own UDP socket. */
export class TestPeer extends ScriptedPeer {
  /** The peer's own address, also where it sends to (the endpoint bound on loopback). */
  readonly host: string;
  readonly socket: dgram.Socket;
  #port = 0;

  constructor(host = '127.0.0.1') {
    super('peer', 'peer-password-0123456789');
    this.host = host;
    this.socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  }

  async open(serverPort: number): Promise<void> {
    this.#port = serverPort;
    await new Promise<void>((resolve) => this.socket.bind(0, this.host, resolve));
    this.socket.on('message', (msg) => this.handle(msg));
  }

  sendRaw(buf: Buffer): void {
    this.socket.send(buf, this.#port, this.host);
  }

  protected transmit(packet: Buffer): void {
    this.sendRaw(packet);
  }

  close(): void {
    this.dtls?.close();
    this.socket.close();
  }
}

/** A scripted peer that completed ICE and DTLS with a new transport of `endpoint`. */
export async function connect(
  endpoint: UdpEndpoint,
  serverCert: DtlsCertificate,
  peerCert: DtlsCertificate,
  host = '127.0.0.1',
): Promise<{ peer: TestPeer; transport: WebRtcTransport }> {
  const transport = endpoint.createTransport();
  const peer = new TestPeer(host);
  await peer.open(host.includes(':') ? endpoint.port6 : endpoint.port);
  await checkConnectivity(peer, transport, peerCert);
  await completeDtls(peer, transport, peerCert, serverCert);
  return { peer, transport };
}
