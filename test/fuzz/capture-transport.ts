// Captures the transport fuzz corpus (test/fuzz/corpus/{stun,dtls,srtp,sctp}) from real stacks
// talking on loopback: an ICE-lite agent answering checks, a werift DTLS client handshaking with
// our DtlsSession server, SRTP/SRTCP protected with the keys that handshake exported, and two
// werift-sctp associations opening a data channel (DCEP) and exchanging messages.
// Usage: node test/fuzz/capture-transport.ts   (rewrites the files; commit them)
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { generateDtlsCertificate } from '../../src/transport/dtls/dtls-certificate.ts';
import { DtlsSession, type SrtpKeys } from '../../src/transport/dtls/dtls-session.ts';
import { IceLiteAgent } from '../../src/transport/ice/ice-lite-agent.ts';
import { parseStun } from '../../src/transport/ice/stun.ts';
import { SctpAssociation } from '../../src/transport/sctp/sctp-association.ts';
import { SrtpProfile, type SrtpProfileId, SrtpSession } from '../../src/transport/srtp/srtp-session.ts';
import { bindingRequest } from '../fakes/stun-request.ts';

const root = new URL('./corpus/', import.meta.url);

function write(target: string, name: string, data: Uint8Array | string): void {
  const dir = new URL(`${target}/`, root);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(name, dir), data);
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function captureStun(): void {
  const agent = new IceLiteAgent();
  agent.setRemoteCredentials('peer');
  const from = { address: '192.0.2.7', port: 54_321, family: 'IPv4' as const };
  const requests = [
    bindingRequest(`${agent.localUfrag}:peer`, agent.localPwd),
    bindingRequest(`${agent.localUfrag}:peer`, agent.localPwd, { useCandidate: false }),
    bindingRequest(`${agent.localUfrag}:peer`, 'wrong-password-0123456789'),
    bindingRequest('unknown:peer', agent.localPwd),
  ];
  const v6 = { address: '2001:db8::7', port: 443, family: 'IPv6' as const };
  const responses = requests.flatMap((r, i) => {
    const outcome = agent.handleCheck(parseStun(r)!, i === 1 ? v6 : from, 1000);
    return outcome.kind === 'ignored' ? [] : [outcome.response];
  });
  for (const [i, r] of requests.entries()) write('stun', `request-${i}.bin`, r);
  for (const [i, r] of responses.entries()) write('stun', `response-${i}.bin`, r);
  write('stun', 'credentials.json', JSON.stringify({ ufrag: agent.localUfrag, pwd: agent.localPwd }));
}

/** A DTLS handshake (werift client → our server), every record datagram of both sides kept. */
async function captureDtls(): Promise<SrtpKeys> {
  const [serverCert, clientCert] = await Promise.all([generateDtlsCertificate(), generateDtlsCertificate()]);
  const records: Buffer[] = [];
  let server: DtlsSession | undefined;
  let client: DtlsSession | undefined;
  const keys = Promise.withResolvers<SrtpKeys>();
  server = new DtlsSession({
    certificate: serverCert,
    role: 'server',
    remoteFingerprints: [clientCert.fingerprint],
    send: (d) => {
      records.push(Buffer.from(d));
      setImmediate(() => client?.handle(Buffer.from(d)));
    },
    onConnected: (k) => keys.resolve(k),
    onFailed: (r) => keys.reject(new Error(r)),
  });
  client = new DtlsSession({
    certificate: clientCert,
    role: 'client',
    remoteFingerprints: [serverCert.fingerprint],
    send: (d) => {
      records.push(Buffer.from(d));
      setImmediate(() => server?.handle(Buffer.from(d)));
    },
    onConnected: () => undefined,
    onFailed: (r) => keys.reject(new Error(r)),
  });
  client.start();
  const k = await keys.promise;
  client.sendData(Buffer.from('application data over DTLS'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const [i, r] of records.entries()) write('dtls', `record-${i}.bin`, r);
  client.close();
  server.close();
  return k;
}

function rtp(seq: number, ssrc: number, payloadType: number, payloadBytes: number): Buffer {
  const withExtension = seq % 2 === 0;
  const header = withExtension ? 20 : 12;
  const p = Buffer.alloc(header + payloadBytes);
  p[0] = withExtension ? 0x90 : 0x80;
  p[1] = (seq % 5 === 0 ? 0x80 : 0) | payloadType;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(seq * 3000, 4);
  p.writeUInt32BE(ssrc, 8);
  if (withExtension) {
    // RFC 8285 one-byte header: id 1 (audio level / mid), one byte of data.
    p.writeUInt16BE(0xbede, 12);
    p.writeUInt16BE(1, 14);
    p[16] = 0x10;
    p[17] = 0x30;
  }
  for (let i = header; i < p.length; i++) p[i] = (i * 7 + seq) & 0xff;
  return p;
}

/** An RTCP compound: a receiver report and a PLI, or an SR with SDES. */
function rtcp(kind: number, ssrc: number): Buffer {
  if (kind === 0) {
    const rr = Buffer.alloc(32);
    rr[0] = 0x81;
    rr[1] = 201;
    rr.writeUInt16BE(7, 2);
    rr.writeUInt32BE(ssrc, 4);
    rr.writeUInt32BE(0x1234, 8);
    const pli = Buffer.alloc(12);
    pli[0] = 0x81;
    pli[1] = 206;
    pli.writeUInt16BE(2, 2);
    pli.writeUInt32BE(ssrc, 4);
    pli.writeUInt32BE(0x1234, 8);
    return Buffer.concat([rr, pli]);
  }
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(ssrc, 4);
  const sdes = Buffer.from([0x81, 202, 0, 3, 0, 0, 0, 0, 1, 4, 0x61, 0x62, 0x63, 0x64, 0, 0]);
  sdes.writeUInt32BE(ssrc, 4);
  return Buffer.concat([sr, sdes]);
}

function captureSrtp(profile: SrtpProfileId, keys: SrtpKeys): void {
  const tag = profile === SrtpProfile.AEAD_AES_128_GCM ? 'gcm' : 'aes-cm';
  // The handshake negotiated AES-CM (14-byte salt); GCM takes the first 12 bytes of it.
  const salt = keys.localSalt.subarray(0, profile === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14);
  const session = new SrtpSession(profile, keys.localKey, salt, undefined, 'js');
  write(
    'srtp',
    `${tag}-keys.json`,
    JSON.stringify({ profile, key: keys.localKey.toString('hex'), salt: salt.toString('hex') }),
  );
  for (let seq = 1; seq <= 6; seq++) {
    const packet = rtp(seq, 0x1234, seq % 3 === 0 ? 111 : 96, seq * 40);
    const out = Buffer.alloc(packet.length + session.rtpOverheadBytes);
    write('srtp', `${tag}-rtp-${seq}.bin`, out.subarray(0, session.protectRtp(packet, out) as number));
    write('transport-rtp', `rtp-${seq}.bin`, packet);
  }
  for (let kind = 0; kind < 2; kind++) {
    const packet = rtcp(kind, 0x1234);
    const out = Buffer.alloc(packet.length + session.rtcpOverheadBytes);
    write('srtp', `${tag}-rtcp-${kind}.bin`, out.subarray(0, session.protectRtcp(packet, out) as number));
    write('transport-rtp', `rtcp-${kind}.bin`, packet);
  }
}

/** Two associations open a data channel both ways and exchange messages; every packet kept. */
async function captureSctp(): Promise<void> {
  const packets: Buffer[] = [];
  let client: SctpAssociation | undefined;
  let server: SctpAssociation | undefined;
  const deliver = (to: () => SctpAssociation | undefined) => (packet: Buffer) => {
    const copy = Buffer.from(packet);
    packets.push(copy);
    setImmediate(() => to()?.handle(Buffer.from(copy)));
  };
  client = new SctpAssociation({ dtlsRole: 'client', send: deliver(() => server) });
  server = new SctpAssociation({ dtlsRole: 'server', send: deliver(() => client) });
  let received = 0;
  client.onDataChannel = (c) => {
    c.onMessage = () => received++;
  };
  server.start();
  client.start();
  await until(() => client.connected && server.connected, 'the association');
  const channel = server.createDataChannel('bbmeet-data', { ordered: false, maxRetransmits: 2 })!;
  await until(() => channel.state === 'open', 'the channel');
  channel.send('hello');
  channel.send(Buffer.from([1, 2, 3]));
  channel.send('');
  await until(() => received === 3, 'the messages');
  client.close();
  server.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const [i, p] of packets.entries()) write('sctp', `packet-${i}.bin`, p);
}

// Only this script's own targets: the RTP-layer and payload corpora beside them have other sources.
for (const target of ['stun', 'dtls', 'srtp', 'transport-rtp', 'sctp'])
  rmSync(new URL(`${target}/`, root), { recursive: true, force: true });
captureStun();
const keys = await captureDtls();
captureSrtp(SrtpProfile.AES_CM_128_HMAC_SHA1_80, keys);
captureSrtp(SrtpProfile.AEAD_AES_128_GCM, keys);
await captureSctp();
process.stdout.write(`corpus written to ${root.pathname}\n`);
process.exit(0);
