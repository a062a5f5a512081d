// CPU per forwarded packet through the SFU's media path, side by side with a raw dgram fan-out.
//
// One publisher transport and N subscriber transports on a real UdpEndpoint, each after a real
// ICE check and DTLS handshake with a scripted peer on loopback. Then pre-encrypted SRTP packets
// (1200-byte payload) are fed to the publisher transport: SRTP unprotect → parse → UpTrack →
// N DownTracks (rewrite) → SRTP protect → dgram.send. CPU comes from process.cpuUsage (user +
// system), divided by packets sent. Once connected, each subscriber's address is taken over by a
// sink process that reads and discards, so datagrams go to live sockets (as to real peers: a
// closed port answers with ICMP errors) and no receive work is counted here; the raw dgram
// baseline sends to sinks of the same process.
//
// With the native addon built (npm run build:native), the SFU path runs natively (SRTP in the
// addon, sends batched by sendmmsg, flushed after each received packet as the endpoint does);
// --js adds a run of the pure JavaScript path (BBMEET_NATIVE=0) in the same process, interleaved.
//
// --counters adds a run with the media counters and histograms off (what BBMEET_MEDIA_COUNTERS=0
// does to a media worker) beside the run with them on, in the same process, the order swapped each
// round; both rates are reported. --input udp sends the publisher's packets to the endpoint's port
// from its peer's socket (paced so that none is dropped) instead of handing them to the transport,
// so that the receive path's counting (packets by kind, forwarding latency) is in the figures too;
// its CPU then includes the peer's sends and the kernel's loopback, in both runs alike.
// Usage: node bench/forwarding.ts [--packets 20000] [--fanout 1,16] [--js] [--counters]
//        [--input direct|udp] [--rounds 1] [--help]
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setMediaCounting } from '../src/lib/media-counters.ts';
import { DownTrack } from '../src/sfu/media/down-track.ts';
import { generateDtlsCertificate } from '../src/transport/dtls/dtls-certificate.ts';
import { DtlsSession } from '../src/transport/dtls/dtls-session.ts';
import {
  nativeAddon,
  nativeUnavailableReason,
  setNativeEnabled,
} from '../src/transport/srtp/native-addon.ts';
import { SrtpSession } from '../src/transport/srtp/srtp-session.ts';
import { UdpEndpoint } from '../src/transport/udp-endpoint.ts';
import type { WebRtcTransport } from '../src/transport/webrtc-transport.ts';
import { bindingRequest } from '../test/fakes/stun-request.ts';
import { vp8UpTrack } from '../test/fakes/vp8-up-track.ts';

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '20000' },
    fanout: { type: 'string', default: '1,16' },
    js: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
    counters: { type: 'boolean', default: false },
    input: { type: 'string', default: 'direct' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  const text = readFileSync(new URL(import.meta.url), 'utf8');
  process.stdout.write(`${[...text.matchAll(/^\/\/ ?(.*)$/gm)].map((m) => m[1]).join('\n')}\n`);
  process.exit(0);
}
if (values.input !== 'direct' && values.input !== 'udp') throw new Error('--input is direct or udp');
const UDP_INPUT = values.input === 'udp';
const NATIVE = nativeAddon() !== undefined;
if (!NATIVE) process.stderr.write(`native addon: ${nativeUnavailableReason()}; the SFU path is JavaScript\n`);
const INPUT_PACKETS = Number(values.packets);
const PAYLOAD_BYTES = 1200;

/** Connects a transport with a scripted peer (ICE check + DTLS client); returns the peer's SRTP sender and socket. */
async function connect(
  endpoint: UdpEndpoint,
  transport: WebRtcTransport,
  keepSocket: boolean,
): Promise<{ srtp: SrtpSession; socket: dgram.Socket }> {
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
  peerSockets.push(socket);
  if (!keepSocket) {
    const port = socket.address().port;
    await new Promise<void>((resolve) => socket.close(resolve));
    subscriberPorts.push(port);
  }
  return { srtp, socket };
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

/** Peer sockets kept open during a run, closed with it. */
const peerSockets: dgram.Socket[] = [];
/** Subscriber peer ports given up once connected, for the sink process to take over. */
const subscriberPorts: number[] = [];

/**
 * A process that binds `ports` on loopback (0: any) and discards what arrives; resolves with the
 * bound ports once it is ready. Killed with `sink.kill()`.
 */
async function startSink(ports: number[]): Promise<{ ports: number[]; process: ChildProcess }> {
  const script = `
    const dgram = require('node:dgram');
    const ports = JSON.parse(process.argv[1]);
    Promise.all(ports.map((p) => new Promise((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.on('message', () => {});
      s.once('error', reject);
      s.bind(p, '127.0.0.1', () => resolve(s.address().port));
    }))).then((bound) => console.log(JSON.stringify(bound)), (e) => { console.error(e.message); process.exit(1); });
  `;
  const child = spawn(process.execPath, ['-e', script, JSON.stringify(ports)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString()));
    child.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
  return { ports: JSON.parse(line) as number[], process: child };
}

const cpuUs = (start: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(start);
  return d.user + d.system;
};

/**
 * CPU µs per forwarded packet through the SFU path; `native`: the addon (else JavaScript);
 * `counting`: the media counters on (else off).
 */
async function sfuPath(fanout: number, native: boolean, counting = true): Promise<number> {
  setNativeEnabled(native);
  setMediaCounting(counting);
  const endpoint = new UdpEndpoint({
    certificate: await generateDtlsCertificate(),
    announcedIps: ['127.0.0.1'],
  });
  await endpoint.bind(0, '127.0.0.1');
  if (endpoint.sendPath !== (native ? 'sendmmsg' : 'dgram'))
    throw new Error(`send path ${endpoint.sendPath}`);
  const publisher = endpoint.createTransport();
  const { srtp: sender, socket: peer } = await connect(endpoint, publisher, true);
  const up = vp8UpTrack({ trackId: 'v', streamId: 's' });
  up.addLayer(0xabcd, undefined);
  for (let i = 0; i < fanout; i++) {
    const t = endpoint.createTransport();
    await connect(endpoint, t, false);
    // As a Subscription does: each packet built in place in the endpoint's send queue.
    new DownTrack({
      upTrack: up,
      ssrc: 1000 + i,
      payloadType: 96,
      output: { buffer: (bytes) => t.rtpBuffer(bytes), send: (p, length) => t.sendRtpInPlace(p, length) },
    });
  }
  const sink = await startSink(subscriberPorts.splice(0));
  publisher.onRtp = (packet) => up.onRtp(packet, 12, 0xabcd);
  const packets = Array.from({ length: INPUT_PACKETS }, (_, i) => sender.protectRtp(rtp(i), 12));
  const start = process.cpuUsage();
  if (UDP_INPUT) await sendToEndpoint(peer, endpoint, packets);
  else {
    for (let i = 0; i < packets.length; i++) {
      publisher.handleSrtp(packets[i]!);
      // What the endpoint does after each received datagram (this bench skips the receive itself).
      endpoint.flush();
      // Let libuv flush the sends now and then, as the event loop would between datagrams.
      if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  const used = cpuUs(start);
  const { datagramsSent, sendErrors } = endpoint.stats;
  if (sendErrors > 0 || (native && datagramsSent < INPUT_PACKETS * fanout))
    throw new Error(`sent ${datagramsSent} datagrams, ${sendErrors} refused`);
  endpoint.close();
  sink.process.kill();
  setNativeEnabled(NATIVE);
  setMediaCounting(true);
  for (const socket of peerSockets.splice(0)) {
    try {
      socket.close();
    } catch {
      // The subscribers' sockets were closed when the sink took their ports over.
    }
  }
  return used / (INPUT_PACKETS * fanout);
}

/**
 * Sends `packets` from the publisher's peer socket to the endpoint, 32 at a time, each batch once
 * the endpoint has received the previous one (the receive buffer never overflows).
 */
async function sendToEndpoint(peer: dgram.Socket, endpoint: UdpEndpoint, packets: Buffer[]): Promise<void> {
  const received = endpoint.stats.datagramsReceived;
  for (let i = 0; i < packets.length; i += 32) {
    const batch = packets.slice(i, i + 32);
    for (const p of batch) peer.send(p, endpoint.port, '127.0.0.1');
    const deadline = performance.now() + 2000;
    while (endpoint.stats.datagramsReceived < received + i + batch.length) {
      if (performance.now() > deadline) throw new Error('the endpoint lost input datagrams');
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

async function rawDgram(fanout: number): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const sink = await startSink(Array.from({ length: fanout }, () => 0));
  const sinks = sink.ports;
  const packet = rtp(1);
  const start = process.cpuUsage();
  for (let i = 0; i < INPUT_PACKETS; i++) {
    for (const port of sinks) socket.send(packet, port, '127.0.0.1');
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  const used = cpuUs(start);
  socket.close();
  sink.process.kill();
  return used / (INPUT_PACKETS * fanout);
}

const rows: Array<Record<string, number | string>> = [];
const us = (n: number) => Number(n.toFixed(2));
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const fanout of values.fanout.split(',').map(Number)) {
    const raw = await rawDgram(fanout);
    // Counters off first in odd rounds: a drift of the machine's load favours neither.
    const offFirst = values.counters && round % 2 === 1;
    const off = offFirst ? await sfuPath(fanout, NATIVE, false) : undefined;
    const sfu = await sfuPath(fanout, NATIVE);
    const countersOff = values.counters && !offFirst ? await sfuPath(fanout, NATIVE, false) : off;
    const js = values.js && NATIVE ? await sfuPath(fanout, false) : undefined;
    const row: Record<string, number | string> = {
      round,
      fanout,
      path: NATIVE ? 'native' : 'js',
      input: values.input,
      sfu_us_per_packet: us(sfu),
      raw_dgram_us_per_packet: us(raw),
      ratio: us(sfu / raw),
    };
    if (js !== undefined) row.js_us_per_packet = us(js);
    if (countersOff !== undefined) {
      row.counters_on_packets_per_cpu_second = Math.round(1e6 / sfu);
      row.counters_off_us_per_packet = us(countersOff);
      row.counters_off_packets_per_cpu_second = Math.round(1e6 / countersOff);
      row.counters_cost = `${(((sfu - countersOff) / countersOff) * 100).toFixed(1)} %`;
    }
    rows.push(row);
    process.stderr.write(
      `fan-out ${fanout}: SFU (${row.path}) ${sfu.toFixed(2)} µs/packet` +
        (countersOff !== undefined ? ` (counters off ${countersOff.toFixed(2)} µs/packet)` : '') +
        (js !== undefined ? `, SFU (js) ${js.toFixed(2)} µs/packet` : '') +
        `, raw dgram ${raw.toFixed(2)} µs/packet\n`,
    );
  }
}
console.log(
  JSON.stringify({ input_packets: INPUT_PACKETS, payload_bytes: PAYLOAD_BYTES, node: process.version, rows }),
);
