// A scripted WebRTC publisher on the project's own transport pieces (ICE checks, DTLS client,
// SRTP) over a UDP socket: it joins with a Chromium simulcast offer (test/fixtures/sdp), then sends
// hand-built Opus and 3-layer VP8 RTP, answers PLIs with a keyframe and records them.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isRtcp } from '../../src/rtp/rtp-packet.ts';
import { type DtlsCertificate, generateDtlsCertificate } from '../../src/transport/dtls/dtls-certificate.ts';
import { DtlsSession } from '../../src/transport/dtls/dtls-session.ts';
import { SrtpSession } from '../../src/transport/srtp/srtp-session.ts';
import { bindingRequest } from './stun-request.ts';

export const AUDIO_SSRC = 32001268;
/** The VP8 layers' SSRCs, low → high (rids q, h, f). */
export const VIDEO_SSRCS = [0x1000, 0x2000, 0x3000] as const;
const RIDS = ['q', 'h', 'f'];
const MID_EXT_ID = 4;
const RID_EXT_ID = 10;
/** RTCP payload-specific feedback with FMT 1: Picture Loss Indication (RFC 4585 §6.3.1). */
const RTCP_PSFB = 206;

const UFRAG = 'scripted';
const PWD = 'scripted-publisher-password-0123';

/** The Chromium simulcast offer with this peer's ICE credentials and fingerprint. */
export function simulcastOffer(certificate: DtlsCertificate): string {
  return readFileSync(new URL('../fixtures/sdp/publisher-simulcast.sdp', import.meta.url), 'utf8')
    .replace(/^a=ice-ufrag:.*$/gm, `a=ice-ufrag:${UFRAG}`)
    .replace(/^a=ice-pwd:.*$/gm, `a=ice-pwd:${PWD}`)
    .replace(/^a=fingerprint:.*$/gm, `a=fingerprint:sha-256 ${certificate.fingerprint}`)
    .replace(/\r?\n/g, '\r\n');
}

export class ScriptedPublisher {
  readonly certificate: DtlsCertificate;
  readonly #socket = dgram.createSocket('udp4');
  #server = { port: 0, address: '127.0.0.1' };
  #dtls: DtlsSession | undefined;
  #send: SrtpSession | undefined;
  #receive: SrtpSession | undefined;
  readonly #seq = new Map<number, number>();
  /** Media SSRCs of the PLIs received, in order. */
  readonly plis: number[] = [];
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;

  private constructor(certificate: DtlsCertificate) {
    this.certificate = certificate;
  }

  static async create(): Promise<ScriptedPublisher> {
    const peer = new ScriptedPublisher(await generateDtlsCertificate());
    await new Promise<void>((resolve) => peer.#socket.bind(0, '127.0.0.1', resolve));
    peer.#socket.on('message', (msg) => peer.#onMessage(msg));
    return peer;
  }

  get offer(): string {
    return simulcastOffer(this.certificate);
  }

  /** ICE check to the answer's host candidate, then the DTLS handshake; resolves once SRTP is keyed. */
  async connect(answer: string): Promise<void> {
    const ufrag = /^a=ice-ufrag:(.+)$/m.exec(answer)?.[1]?.trim();
    const pwd = /^a=ice-pwd:(.+)$/m.exec(answer)?.[1]?.trim();
    const fingerprint = /^a=fingerprint:\S+ (.+)$/m.exec(answer)?.[1]?.trim();
    const candidate = /^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/m.exec(answer);
    if (!ufrag || !pwd || !fingerprint || !candidate) throw new Error('answer lacks ICE or DTLS parameters');
    this.#server = { port: Number(candidate[1]), address: '127.0.0.1' };
    this.#raw(bindingRequest(`${ufrag}:${UFRAG}`, pwd, { useCandidate: true }));
    const done = Promise.withResolvers<void>();
    this.#dtls = new DtlsSession({
      certificate: this.certificate,
      role: 'client',
      remoteFingerprints: [fingerprint],
      send: (d) => this.#raw(d),
      onConnected: (keys) => {
        this.#send = new SrtpSession(keys.profile, keys.localKey, keys.localSalt);
        this.#receive = new SrtpSession(keys.profile, keys.remoteKey, keys.remoteSalt);
        done.resolve();
      },
      onFailed: (reason) => done.reject(new Error(reason)),
    });
    this.#dtls.start();
    await done.promise;
  }

  /** Sends a frame every `intervalMs`: an Opus packet and a VP8 packet on each layer (keyframes first). */
  start(intervalMs = 20): void {
    this.#sendFrame(true);
    this.#timer = setInterval(() => this.#sendFrame(false), intervalMs);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#dtls?.close();
    this.#socket.close();
  }

  #sendFrame(keyframe: boolean): void {
    this.#frame++;
    this.#rtp(AUDIO_SSRC, 111, this.#frame * 960, undefined, Buffer.from([0xfc, 0xff, 0xfe]));
    VIDEO_SSRCS.forEach((ssrc, layer) => {
      this.#video(ssrc, layer, keyframe);
    });
  }

  #video(ssrc: number, layer: number, keyframe: boolean): void {
    // VP8 payload descriptor (S=1, partition 0), then the frame header's P bit: 0 for a keyframe.
    const payload = Buffer.from([0x10, keyframe ? 0x00 : 0x01, 0x00, 0x00, 0x9d, 0x01, 0x2a]);
    this.#rtp(ssrc, 96, this.#frame * 3000, RIDS[layer], payload);
  }

  #rtp(ssrc: number, payloadType: number, timestamp: number, rid: string | undefined, payload: Buffer): void {
    if (!this.#send) return;
    const seq = ((this.#seq.get(ssrc) ?? 999) + 1) & 0xffff;
    this.#seq.set(ssrc, seq);
    const mid = rid === undefined ? '0' : '1';
    // One-byte header extensions (RFC 8285): the mid, and the rid of a simulcast layer.
    const ext = [(MID_EXT_ID << 4) | 0, mid.charCodeAt(0)];
    if (rid !== undefined) ext.push((RID_EXT_ID << 4) | 0, rid.charCodeAt(0));
    while (ext.length % 4 !== 0) ext.push(0);
    const header = Buffer.alloc(16 + ext.length);
    header[0] = 0x90;
    header[1] = payloadType | 0x80;
    header.writeUInt16BE(seq, 2);
    header.writeUInt32BE(timestamp >>> 0, 4);
    header.writeUInt32BE(ssrc, 8);
    header.writeUInt16BE(0xbede, 12);
    header.writeUInt16BE(ext.length / 4, 14);
    Buffer.from(ext).copy(header, 16);
    const packet = Buffer.concat([header, payload]);
    const out = Buffer.alloc(packet.length + this.#send.rtpOverheadBytes);
    const length = this.#send.protectRtp(packet, out);
    if (typeof length === 'number') this.#raw(out.subarray(0, length));
  }

  #raw(datagram: Buffer): void {
    this.#socket.send(datagram, this.#server.port, this.#server.address);
  }

  #onMessage(msg: Buffer): void {
    const first = msg[0]!;
    if (first >= 20 && first <= 63) this.#dtls?.handle(msg);
    else if (first >= 128 && this.#receive && isRtcp(msg)) this.#onRtcp(msg);
  }

  #onRtcp(msg: Buffer): void {
    const length = this.#receive!.unprotectRtcp(msg);
    if (typeof length !== 'number') return;
    for (let offset = 0; offset + 12 <= length; ) {
      const words = msg.readUInt16BE(offset + 2);
      if (msg[offset + 1] === RTCP_PSFB && (msg[offset]! & 0x1f) === 1) {
        const ssrc = msg.readUInt32BE(offset + 8);
        this.plis.push(ssrc);
        const layer = VIDEO_SSRCS.indexOf(ssrc as (typeof VIDEO_SSRCS)[number]);
        if (layer >= 0) this.#video(ssrc, layer, true);
      }
      offset += (words + 1) * 4;
    }
  }
}
