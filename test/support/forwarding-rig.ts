// The media worker's forwarding path in one process, for the allocation test and the bench: a
// publisher's simulcast VP8 track (Publisher → UpTrack) fanned out to subscribers (Subscription →
// DownTrack → SRTP → the UdpEndpoint's batched send) on a real loopback UDP socket, each transport
// after a real ICE check and DTLS handshake with a scripted peer; the publisher's datagrams are
// handed to the endpoint as its socket would (UdpEndpoint.receive). measureAllocations() counts
// what the JavaScript heap's young generation grows by per forwarded packet (allocations.ts).

import dgram from 'node:dgram';
import type { Clock } from '../../src/lib/clock.ts';
import type { ParticipantId } from '../../src/lib/ids.ts';
import { mediaClock } from '../../src/sfu/media/media-clock.ts';
import { Publisher } from '../../src/sfu/media/publisher.ts';
import { Subscription } from '../../src/sfu/media/subscription.ts';
import type { UpTrack } from '../../src/sfu/media/up-track.ts';
import { generateDtlsCertificate } from '../../src/transport/dtls/dtls-certificate.ts';
import { DtlsSession } from '../../src/transport/dtls/dtls-session.ts';
import { EXTENSION_URI } from '../../src/transport/negotiation/index.ts';
import { setNativeEnabled } from '../../src/transport/srtp/native-addon.ts';
import { SrtpSession } from '../../src/transport/srtp/srtp-session.ts';
import { UdpEndpoint } from '../../src/transport/udp-endpoint.ts';
import type { WebRtcTransport } from '../../src/transport/webrtc-transport.ts';
import { ManualClock } from '../fakes/manual-clock.ts';
import { bindingRequest } from '../fakes/stun-request.ts';
import { type AllocationCount, countAllocations } from './allocations.ts';

const RIDS = ['q', 'h', 'f'];
/** SSRCs and timestamps above 2^30, as most real ones are: such numbers are not small integers to V8. */
const SSRCS = [0x9e3779b1, 0xc2b2ae35, 0x85ebca6b];
const TIMESTAMP_BASE = 0xfff00000;
const SEQUENCE_BASE = 0xff00;
/** The publisher's extension ids (one-byte header): mid, rid, abs-send-time, transport-cc. */
const MID_ID = 1;
const RID_ID = 2;
const ABS_SEND_TIME_ID = 3;
const TWCC_ID = 4;
/** The subscribers' ids for the two forwarded extensions. */
const SUB_ABS_SEND_TIME_ID = 2;
const SUB_TWCC_ID = 3;
const PAYLOAD_BYTES = 1100;
/** Counted runs (measureAllocations): at most MAX_ROUNDS, until STEADY_ROUNDS in a row allocate no less. */
const MAX_ROUNDS = 16;
const STEADY_ROUNDS = 4;
/** Temporal layers of each simulcast layer (VP8 TID 0..2, in the L1T3 pattern). */
const TID_PATTERN = [0, 2, 1, 2];

interface Peer {
  socket: dgram.Socket;
  send: SrtpSession;
  receive: SrtpSession;
  /** Datagrams it received, and how many of them decrypted as SRTP. */
  received: number;
  decrypted: number;
}

/** Connects `transport` with a scripted peer on loopback (ICE check, DTLS client); resolves once connected. */
async function connectPeer(endpoint: UdpEndpoint, transport: WebRtcTransport): Promise<Peer> {
  const cert = await generateDtlsCertificate();
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  transport.setRemoteParameters({
    iceUfrag: 'peer',
    icePwd: 'peer-password-0123456789',
    fingerprints: [{ algorithm: 'sha-256', value: cert.fingerprint }],
    setup: 'active',
  });
  const keys = Promise.withResolvers<{ send: SrtpSession; receive: SrtpSession }>();
  const dtls = new DtlsSession({
    certificate: cert,
    role: 'client',
    remoteFingerprints: [transport.localParameters.fingerprint.value],
    send: (d) => socket.send(d, endpoint.port, '127.0.0.1'),
    onConnected: (k) =>
      keys.resolve({
        send: new SrtpSession(k.profile, k.localKey, k.localSalt),
        receive: new SrtpSession(k.profile, k.remoteKey, k.remoteSalt),
      }),
    onFailed: (r) => keys.reject(new Error(r)),
  });
  const checked = Promise.withResolvers<void>();
  let peer: Peer | undefined;
  socket.on('message', (m) => {
    const first = m[0]!;
    if (first < 4) checked.resolve();
    else if (first >= 20 && first <= 63) dtls.handle(m);
    else if (first >= 128 && peer) {
      peer.received++;
      if (typeof peer.receive.unprotectRtp(m) === 'number') peer.decrypted++;
    }
  });
  socket.send(
    bindingRequest(`${transport.agent.localUfrag}:peer`, transport.agent.localPwd),
    endpoint.port,
    '127.0.0.1',
  );
  await checked.promise;
  dtls.start();
  const srtp = await keys.promise;
  const connected = Promise.withResolvers<void>();
  const deadline = setTimeout(
    () => connected.reject(new Error('the transport did not connect in 5 s')),
    5000,
  );
  const poll = setInterval(() => {
    if (transport.state === 'connected') connected.resolve();
  }, 2);
  try {
    await connected.promise;
  } finally {
    clearTimeout(deadline);
    clearInterval(poll);
  }
  peer = { socket, ...srtp, received: 0, decrypted: 0 };
  return peer;
}

/**
 * A VP8 packet of simulcast layer `layer` as Chromium sends it: one-byte extensions (mid, rid,
 * abs-send-time, transport-cc), the payload descriptor with a 15-bit picture id, TL0PICIDX and
 * TID, then `PAYLOAD_BYTES` of payload; `frame` 0 is a keyframe.
 */
function vp8Packet(layer: number, frame: number, twccSeq: number): Buffer {
  const p = Buffer.alloc(12 + 20 + 6 + PAYLOAD_BYTES, 0x5a);
  p[0] = 0x90;
  p[1] = 0x80 | 96;
  p.writeUInt16BE((SEQUENCE_BASE + frame) & 0xffff, 2);
  p.writeUInt32BE((TIMESTAMP_BASE + frame * 3000) >>> 0, 4);
  p.writeUInt32BE(SSRCS[layer]!, 8);
  p.writeUInt16BE(0xbede, 12);
  p.writeUInt16BE(4, 14);
  let at = 16;
  p[at++] = (MID_ID << 4) | 0;
  p[at++] = 0x30; // mid "0"
  p[at++] = (RID_ID << 4) | 0;
  p[at++] = RIDS[layer]!.charCodeAt(0);
  p[at++] = (ABS_SEND_TIME_ID << 4) | 2;
  at += 3;
  p[at++] = (TWCC_ID << 4) | 1;
  p.writeUInt16BE(twccSeq & 0xffff, at);
  at += 2;
  p.fill(0, at, 32); // padding of the extension block
  const tid = TID_PATTERN[frame % TID_PATTERN.length]!;
  p[32] = 0x90; // X, S
  p[33] = 0xe0; // I, L, T
  p.writeUInt16BE(0x8000 | (frame & 0x7fff), 34);
  p[36] = Math.floor(frame / TID_PATTERN.length) & 0xff;
  p[37] = (tid << 6) | (tid === 0 ? 0x20 : 0);
  p[38] = frame === 0 ? 0x00 : 0x01; // VP8 frame header: P bit clear on a keyframe
  return p;
}

export interface ForwardingRig {
  readonly endpoint: UdpEndpoint;
  readonly up: UpTrack;
  readonly subscribers: number;
  /** Forwarded (sent) datagrams so far, and those the kernel refused. */
  readonly sent: () => { datagrams: number; errors: number };
  /** SRTP packets of the publisher, protected ahead, for `frames` frames of each layer. */
  prepare(frames: number): Buffer[];
  /** Hands `packets[from..to)` to the endpoint as if its socket read them from the publisher's peer. */
  feed(packets: Buffer[], from: number, to: number): void;
  /** Waits (bounded) until the subscribers' peers received what was sent; returns what decrypted. */
  drained(): Promise<{ received: number; decrypted: number }>;
  measureAllocations(options: {
    warmupFrames: number;
    frames: number;
    chunkFrames?: number;
  }): Promise<AllocationCount & { forwarded: number; rounds: number[] }>;
  close(): void;
}

/**
 * Opens the rig: `subscribers` subscriptions, spread over the three layers, `native` choosing the
 * SRTP and send path (the addon, or JavaScript and dgram) for what is created here.
 */
export async function openForwardingRig(options: {
  subscribers: number;
  native: boolean;
}): Promise<ForwardingRig> {
  setNativeEnabled(options.native);
  // The media worker's readings (mediaClock), its timers left to run by hand (none does here): no
  // RTCP is sent, and what runs per packet is all that is counted.
  const timers = new ManualClock();
  const clock: Clock = {
    nowMs: mediaClock.nowMs,
    setTimeout: (fn, ms) => timers.setTimeout(fn, ms),
    setInterval: (fn, ms) => timers.setInterval(fn, ms),
  };
  const endpoint = new UdpEndpoint({
    certificate: await generateDtlsCertificate(),
    announcedIps: ['127.0.0.1'],
  });
  try {
    await endpoint.bind(0, '127.0.0.1');
    if (endpoint.sendPath !== (options.native ? 'sendmmsg' : 'dgram'))
      throw new Error(`the endpoint's send path is ${endpoint.sendPath}`);
    const publisherTransport = endpoint.createTransport();
    const publisherPeer = await connectPeer(endpoint, publisherTransport);
    const publisher = new Publisher({
      participantId: 'publisher' as ParticipantId,
      transport: publisherTransport,
      clock,
      mediaState: {} as never,
      totalTracks: 1,
      onReady: () => undefined,
    });
    const [up] = publisher.addTracks([
      {
        mid: '0',
        kind: 'video',
        trackId: 'camera',
        streamId: 'stream',
        codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} },
        ssrcs: [],
        rids: RIDS,
        headerExtensions: [
          { uri: EXTENSION_URI.mid, id: MID_ID },
          { uri: EXTENSION_URI.rid, id: RID_ID },
          { uri: EXTENSION_URI.absSendTime, id: ABS_SEND_TIME_ID },
          { uri: EXTENSION_URI.transportCc, id: TWCC_ID },
        ],
      },
    ]);
    const extensionIds = new Uint8Array(256);
    extensionIds[ABS_SEND_TIME_ID] = SUB_ABS_SEND_TIME_ID;
    extensionIds[TWCC_ID] = SUB_TWCC_ID;
    const peers: Peer[] = [publisherPeer];
    const subscriptions: Subscription[] = [];
    for (let i = 0; i < options.subscribers; i++) {
      const transport = endpoint.createTransport();
      peers.push(await connectPeer(endpoint, transport));
      const subscription = new Subscription({
        subscriberId: `s${i}` as ParticipantId,
        targetId: 'publisher' as ParticipantId,
        transport,
        clock,
        transportCcId: SUB_TWCC_ID,
      });
      const down = subscription.addTrack(up!, {
        ssrc: (0xa0000000 + i) >>> 0,
        payloadType: 96,
        extensionIds,
        absSendTimeId: SUB_ABS_SEND_TIME_ID,
      });
      const layer = i % RIDS.length;
      down.setPreferred({ spatial: layer, temporal: 2 });
      down.setTarget({ spatial: layer, temporal: 2 });
      subscriptions.push(subscription);
    }
    const publisherAddress: dgram.RemoteInfo = {
      address: '127.0.0.1',
      family: 'IPv4',
      port: publisherPeer.socket.address().port,
      size: 0,
    };
    let nextFrame = 0;
    let twccSeq = 0;
    const rig: ForwardingRig = {
      endpoint,
      up: up!,
      subscribers: options.subscribers,
      sent: () => ({ datagrams: endpoint.stats.datagramsSent, errors: endpoint.stats.sendErrors }),
      prepare(frames) {
        const packets: Buffer[] = [];
        for (let f = 0; f < frames; f++, nextFrame++)
          for (let layer = 0; layer < RIDS.length; layer++) {
            const rtp = vp8Packet(layer, nextFrame, twccSeq++);
            const out = Buffer.alloc(rtp.length + publisherPeer.send.rtpOverheadBytes);
            const n = publisherPeer.send.protectRtp(rtp, out);
            if (typeof n !== 'number') throw new Error(`protect: ${n}`);
            packets.push(out.subarray(0, n));
          }
        return packets;
      },
      feed(packets, from, to) {
        for (let i = from; i < to; i++) endpoint.receive(packets[i]!, publisherAddress);
      },
      async drained() {
        const subs = peers.slice(1);
        const want = endpoint.stats.datagramsSent - publisherPeer.received;
        const deadline = performance.now() + 5000;
        const got = () => subs.reduce((s, p) => s + p.received, 0);
        while (got() < want && performance.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 5));
        return { received: got(), decrypted: subs.reduce((s, p) => s + p.decrypted, 0) };
      },
      async measureAllocations({ warmupFrames, frames, chunkFrames = 16 }) {
        const chunk = RIDS.length * chunkFrames;
        const warm = rig.prepare(warmupFrames);
        for (let i = 0; i < warm.length; i += chunk) {
          rig.feed(warm, i, Math.min(warm.length, i + chunk));
          await new Promise((resolve) => setImmediate(resolve));
        }
        // Steady state: what the path allocates falls while V8 optimises it (interpreted and
        // baseline code box numbers), and on a loaded machine the optimising compiler may take many
        // rounds to get there. Counted runs of `frames` follow, a pause between them for compiled
        // code to land, until one allocates nothing or STEADY_ROUNDS in a row allocate no less than
        // the least so far (at most MAX_ROUNDS): the least is the figure.
        let best: (AllocationCount & { forwarded: number }) | undefined;
        const rounds: number[] = [];
        let flat = 0;
        for (let round = 0; round < MAX_ROUNDS && flat < STEADY_ROUNDS; round++) {
          const packets = rig.prepare(frames);
          const before = endpoint.stats.datagramsSent;
          const next = await countAllocations(packets.length, chunk, (from, to) =>
            rig.feed(packets, from, to),
          );
          const forwarded = endpoint.stats.datagramsSent - before;
          rounds.push(Math.round(((next.bytesPerItem * next.items) / forwarded) * 10) / 10);
          if (best === undefined || next.bytesPerItem < best.bytesPerItem * 0.95) flat = 0;
          else flat++;
          if (best === undefined || next.bytesPerItem < best.bytesPerItem) best = { ...next, forwarded };
          if (next.bytesPerItem === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return { ...best!, rounds };
      },
      close() {
        for (const s of subscriptions) s.close();
        publisher.close();
        endpoint.close();
        for (const p of peers) p.socket.close();
      },
    };
    return rig;
  } catch (err) {
    endpoint.close();
    throw err;
  } finally {
    setNativeEnabled(process.env.BBMEET_NATIVE !== '0');
  }
}
