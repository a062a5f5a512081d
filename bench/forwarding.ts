// CPU per forwarded packet through the SFU's media path, side by side with a raw dgram fan-out.
//
// One publisher transport and N subscriber transports on a real UdpEndpoint, each after a real
// ICE check and DTLS handshake with a scripted peer on loopback. Then pre-encrypted SRTP packets
// (1200-byte payload) are fed to the publisher transport: SRTP unprotect → parse → UpTrack →
// N DownTracks (rewrite) → SRTP protect → dgram.send. CPU comes from process.cpuUsage (user +
// system), divided by packets sent. The subscribers' peer sockets are closed once connected, so
// no receive work is counted here. Usage: node bench/forwarding.ts [--packets 20000]
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';
import { DownTrack } from '../src/sfu/media/down-track.ts';
import { UpTrack } from '../src/sfu/media/up-track.ts';
import { generateDtlsCertificate } from '../src/transport/dtls/dtls-certificate.ts';
import { DtlsSession } from '../src/transport/dtls/dtls-session.ts';
import { SrtpSession } from '../src/transport/srtp/srtp-session.ts';
import { UdpEndpoint } from '../src/transport/udp-endpoint.ts';
import type { WebRtcTransport } from '../src/transport/webrtc-transport.ts';
import { ManualClock } from '../test/fakes/manual-clock.ts';
import { bindingRequest } from '../test/fakes/stun-request.ts';

const { values } = parseArgs({ options: { packets: { type: 'string', default: '20000' } } });
const INPUT_PACKETS = Number(values.packets);
const PAYLOAD_BYTES = 1200;

/** Connects a transport with a scripted peer (ICE check + DTLS client); returns the peer's SRTP sender. */
async function connect(
  endpoint: UdpEndpoint,
  transport: WebRtcTransport,
  keepSocket: boolean,
): Promise<SrtpSession> {
  const cert = await generateDtlsCertificate();
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  transport.setRemoteParameters({
    iceUfrag: 'peer',
    icePwd: 'peer-password-0123456789',
    fingerprints: [{ algorithm: 'sha-256', value: cert.fingerprint }],
    setup: 'active',
  });
  const ready = Promise.withResolvers<SrtpSession>();
  const dtls = new DtlsSession({
    certificate: cert,
    role: 'client',
    remoteFingerprints: [transport.localParameters.fingerprint.value],
    send: (d) => socket.send(d, endpoint.port, '127.0.0.1'),
    onConnected: (k) => ready.resolve(new SrtpSession(k.profile, k.localKey, k.localSalt)),
    onFailed: (r) => ready.reject(new Error(r)),
  });
  const checked = Promise.withResolvers<void>();
  socket.on('message', (m) => {
    if (m[0]! < 4) checked.resolve();
    else if (m[0]! >= 20 && m[0]! <= 63) dtls.handle(m);
  });
  // DTLS starts once the ICE check is answered: before that the endpoint does not know this
  // address and drops the ClientHello (a browser would retransmit it; this peer does not).
  socket.send(
    bindingRequest(`${transport.agent.localUfrag}:peer`, transport.agent.localPwd),
    endpoint.port,
    '127.0.0.1',
  );
  await checked.promise;
  dtls.start();
  const srtp = await ready.promise;
  while (transport.state !== 'connected') await new Promise((resolve) => setTimeout(resolve, 5));
  if (!keepSocket) socket.close();
  return srtp;
}

function rtp(seq: number): Buffer {
  const p = Buffer.alloc(12 + PAYLOAD_BYTES);
  p[0] = 0x80;
  p[1] = 96;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE((seq * 3000) >>> 0, 4);
  p.writeUInt32BE(0xabcd, 8);
  p[12] = 0x10; // VP8 descriptor: start of partition
  p[13] = seq === 0 ? 0x00 : 0x01; // the first packet is a keyframe
  return p;
}

const cpuUs = (start: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(start);
  return d.user + d.system;
};

async function sfuPath(fanout: number): Promise<number> {
  const endpoint = new UdpEndpoint({
    certificate: await generateDtlsCertificate(),
    announcedIps: ['127.0.0.1'],
  });
  await endpoint.bind(0, '127.0.0.1');
  const publisher = endpoint.createTransport();
  const sender = await connect(endpoint, publisher, true);
  const up = new UpTrack({
    trackId: 'v',
    streamId: 's',
    mid: '0',
    kind: 'video',
    codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} },
    rids: [],
    clock: new ManualClock(),
    sendPli: () => undefined,
  });
  up.addLayer(0xabcd, undefined);
  for (let i = 0; i < fanout; i++) {
    const t = endpoint.createTransport();
    await connect(endpoint, t, false);
    new DownTrack({ upTrack: up, ssrc: 1000 + i, payloadType: 96, send: (p) => t.sendRtp(p) });
  }
  publisher.onRtp = (packet) => up.onRtp(packet, 12, 0xabcd);
  const packets = Array.from({ length: INPUT_PACKETS }, (_, i) => sender.protectRtp(rtp(i), 12));
  const start = process.cpuUsage();
  for (let i = 0; i < packets.length; i++) {
    publisher.handleSrtp(packets[i]!);
    // Let libuv flush the sends now and then, as the event loop would between datagrams.
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  const used = cpuUs(start);
  endpoint.close();
  return used / (INPUT_PACKETS * fanout);
}

async function rawDgram(fanout: number): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const sinks = await Promise.all(
    Array.from({ length: fanout }, async () => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      const { port } = s.address();
      s.close();
      return port;
    }),
  );
  const packet = rtp(1);
  const start = process.cpuUsage();
  for (let i = 0; i < INPUT_PACKETS; i++) {
    for (const port of sinks) socket.send(packet, port, '127.0.0.1');
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  const used = cpuUs(start);
  socket.close();
  return used / (INPUT_PACKETS * fanout);
}

const rows: Array<Record<string, number>> = [];
for (const fanout of [1, 16]) {
  const raw = await rawDgram(fanout);
  const sfu = await sfuPath(fanout);
  rows.push({
    fanout,
    sfu_us_per_packet: Number(sfu.toFixed(2)),
    raw_dgram_us_per_packet: Number(raw.toFixed(2)),
    ratio: Number((sfu / raw).toFixed(2)),
  });
  process.stderr.write(
    `fan-out ${fanout}: SFU ${sfu.toFixed(2)} µs/packet, raw dgram ${raw.toFixed(2)} µs/packet\n`,
  );
}
console.log(
  JSON.stringify({ input_packets: INPUT_PACKETS, payload_bytes: PAYLOAD_BYTES, node: process.version, rows }),
);
