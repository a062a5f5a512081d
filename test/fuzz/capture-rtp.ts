// Captures the RTP/RTCP fuzz corpus from real stacks: headless Chromium (libwebrtc) publishes to a
// werift peer on loopback, one session per codec (VP8 simulcast, VP9 SVC, H264, AV1 with the
// dependency descriptor; Opus with the audio level each time), and werift echoes the video back
// (dropping some packets) so that Chromium also sends receiver feedback (RR, transport-cc, NACK,
// PLI). Every packet werift decrypts is kept; a sample of them is written under
// test/fuzz/corpus/{rtp,rtcp}/, and AV1's dependency descriptors under corpus/dependency-descriptor/.
//
//   node_modules/.bin/node test/fuzz/capture-rtp.ts
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  RTCDtlsTransport,
  RTCRtpCodecParameters,
  type RtpPacket,
  useAbsSendTime,
  useAudioLevelIndication,
  useDependencyDescriptor,
  useNACK,
  usePLI,
  useREMB,
  useSdesMid,
  useSdesRTPStreamId,
  useTransportWideCC,
  useTWCC,
  RTCPeerConnection as WeriftPeerConnection,
  MediaStreamTrack as WeriftTrack,
} from 'werift';
import { headerExtension } from '../../src/rtp/rtp-extensions.ts';
import { launchChromium } from '../support/browser.ts';

type Scenario = { name: string; mimeType: string; fmtp?: string; rids?: string[]; scalabilityMode?: string };

const SCENARIOS: Scenario[] = [
  { name: 'vp8-simulcast', mimeType: 'video/VP8', rids: ['q', 'h', 'f'] },
  { name: 'vp9-svc', mimeType: 'video/VP9', fmtp: 'profile-id=0', scalabilityMode: 'L3T3_KEY' },
  {
    name: 'h264',
    mimeType: 'video/H264',
    fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  },
  { name: 'av1-dd', mimeType: 'video/AV1', scalabilityMode: 'L1T3' },
];
const SESSION_MS = 4000;
/** Echoed packets dropped: the first ones (Chromium asks for a keyframe) and every 15th (NACKs). */
const ECHO_DROP_FIRST = 20;
const ECHO_DROP_EVERY = 15;
const MAX_SEEDS_PER_KIND = 30;

const decrypted: { rtp: Buffer[]; rtcp: Buffer[] } = { rtp: [], rtcp: [] };

/** Wraps werift's SRTP/SRTCP sessions so that every packet it decrypts is recorded. */
function tapDecryption(): void {
  const proto = RTCDtlsTransport.prototype as unknown as { updateSrtpSession(this: RtcDtls): void };
  const original = proto.updateSrtpSession;
  proto.updateSrtpSession = function (this: RtcDtls) {
    original.call(this);
    for (const [session, into] of [
      [this.srtp, decrypted.rtp],
      [this.srtcp, decrypted.rtcp],
    ] as const) {
      const decrypt = session.decrypt.bind(session);
      session.decrypt = (data: Buffer) => {
        const out = decrypt(data);
        into.push(Buffer.from(out));
        return out;
      };
    }
  };
}
type DecryptingSession = { decrypt(data: Buffer): Buffer };
type RtcDtls = { srtp: DecryptingSession; srtcp: DecryptingSession };

function weriftPeer(s: Scenario): WeriftPeerConnection {
  const feedback = [useNACK(), usePLI(), useREMB(), useTWCC()];
  return new WeriftPeerConnection({
    codecs: {
      video: [
        new RTCRtpCodecParameters({
          mimeType: s.mimeType,
          clockRate: 90_000,
          rtcpFeedback: feedback,
          parameters: s.fmtp,
        }),
      ],
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2 })],
    },
    headerExtensions: {
      video: [
        useSdesMid(),
        useSdesRTPStreamId(),
        useAbsSendTime(),
        useTransportWideCC(),
        useDependencyDescriptor(),
      ],
      audio: [useSdesMid(), useAudioLevelIndication(), useTransportWideCC()],
    },
  });
}

/** Echoes the first received video stream back to the browser, with drops. */
function echo(pc: WeriftPeerConnection): void {
  const back = new WeriftTrack({ kind: 'video' });
  let n = 0;
  pc.onRemoteTransceiverAdded.subscribe((t) => {
    if (t.kind !== 'video') return;
    t.setDirection('sendrecv');
    t.sender.replaceTrack(back);
  });
  pc.onTrack.subscribe((track) => {
    if (track.kind !== 'video') return;
    track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
      n++;
      if (n <= ECHO_DROP_FIRST || n % ECHO_DROP_EVERY === 0 || (track.rid && track.rid !== 'f')) return;
      back.writeRtp(rtp.clone());
    });
  });
}

/** Runs one session; returns the id the answer gives the dependency descriptor (0 when none). */
async function runScenario(page: import('playwright-core').Page, s: Scenario): Promise<number> {
  const pc = weriftPeer(s);
  echo(pc);
  const offer = await page.evaluate(async (scenario) => {
    const w = window as unknown as { pc: RTCPeerConnection };
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: 1280, height: 720 },
      audio: true,
    });
    const pc = new RTCPeerConnection();
    w.pc = pc;
    const video = pc.addTransceiver(stream.getVideoTracks()[0]!, {
      direction: 'sendrecv',
      sendEncodings: scenario.rids
        ? scenario.rids.map((rid, i) => ({ rid, scaleResolutionDownBy: 2 ** (2 - i) }))
        : // scalabilityMode (WebRTC-SVC) is not in TypeScript's DOM types yet.
          [{ scalabilityMode: scenario.scalabilityMode } as RTCRtpEncodingParameters],
    });
    const codecs = RTCRtpReceiver.getCapabilities('video')!.codecs.filter(
      (c) => c.mimeType === scenario.mimeType || c.mimeType === 'video/rtx',
    );
    video.setCodecPreferences(codecs);
    pc.addTransceiver(stream.getAudioTracks()[0]!, { direction: 'sendonly' });
    await pc.setLocalDescription();
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    });
    return pc.localDescription!.sdp;
  }, s);
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== 'complete')
    await pc.iceGatheringStateChange.watch((state) => state === 'complete');
  await page.evaluate(async (sdp) => {
    await (window as unknown as { pc: RTCPeerConnection }).pc.setRemoteDescription({ type: 'answer', sdp });
  }, pc.localDescription!.sdp);
  await new Promise((r) => setTimeout(r, SESSION_MS));
  await page.evaluate(() => (window as unknown as { pc: RTCPeerConnection }).pc.close());
  await pc.close();
  const extmap = /a=extmap:(\d+) \S*#dependency-descriptor-rtp-header-extension/.exec(
    pc.localDescription!.sdp,
  );
  return extmap ? Number(extmap[1]) : 0;
}

/** The dependency descriptors of the packets (extension `id`), the ones carrying a structure first. */
async function writeDependencyDescriptors(packets: Buffer[], id: number): Promise<void> {
  const dir = new URL('corpus/dependency-descriptor/', import.meta.url);
  await mkdir(dir, { recursive: true });
  const values = packets.flatMap((p) => headerExtension(p, id) ?? []).filter((v) => v.length >= 3);
  const picked = [
    ...values.filter((v) => v.length > 20).slice(0, 4),
    ...sample(values, 16, (v) => `${v.length}`),
  ];
  for (const [i, v] of picked.entries())
    await writeFile(new URL(`av1-${String(i).padStart(2, '0')}.bin`, dir), v);
}

/** Up to `max` packets spread over the capture, distinct by their first 16 bytes' shape. */
function sample(packets: Buffer[], max: number, key: (b: Buffer) => string): Buffer[] {
  const byKey = new Map<string, Buffer[]>();
  for (const p of packets) byKey.set(key(p), [...(byKey.get(key(p)) ?? []), p]);
  const out: Buffer[] = [];
  for (let round = 0; out.length < max; round++) {
    let added = false;
    for (const list of byKey.values()) {
      const p = list[Math.floor((round * list.length) / 3)];
      if (round < 3 && p && out.length < max) {
        out.push(p);
        added = true;
      }
    }
    if (!added) break;
  }
  return out;
}

async function writeCorpus(kind: 'rtp' | 'rtcp', scenario: string, packets: Buffer[]): Promise<void> {
  const dir = new URL(`corpus/${kind}/`, import.meta.url);
  await mkdir(dir, { recursive: true });
  const key =
    kind === 'rtp'
      ? (b: Buffer) => `${b[1]! & 0x7f}:${b[0]! & 0x30}:${b.length > 300 ? 'big' : 'small'}`
      : (b: Buffer) => {
          const types: string[] = [];
          for (let at = 0; at + 4 <= b.length; at += (b.readUInt16BE(at + 2) + 1) * 4)
            types.push(`${b[at + 1]}.${b[at]! & 0x1f}`);
          return types.join('+');
        };
  for (const [i, p] of sample(packets, MAX_SEEDS_PER_KIND, key).entries())
    await writeFile(new URL(`${scenario}-${String(i).padStart(2, '0')}.bin`, dir), p);
}

async function main(): Promise<void> {
  tapDecryption();
  for (const kind of ['rtp', 'rtcp', 'dependency-descriptor'])
    await rm(new URL(`corpus/${kind}/`, import.meta.url), { recursive: true, force: true });
  // getUserMedia needs a secure context: an empty page served on loopback.
  const http = createServer((_req, res) => res.end('<!doctype html><title>capture</title>'));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const chromium = await launchChromium();
  try {
    const page = await (await chromium.newContext()).newPage();
    await page.goto(`http://localhost:${(http.address() as AddressInfo).port}/`);
    for (const s of SCENARIOS) {
      decrypted.rtp.length = 0;
      decrypted.rtcp.length = 0;
      const ddId = await runScenario(page, s);
      console.log(s.name, { rtp: decrypted.rtp.length, rtcp: decrypted.rtcp.length });
      await writeCorpus('rtp', s.name, decrypted.rtp);
      await writeCorpus('rtcp', s.name, decrypted.rtcp);
      if (ddId > 0) await writeDependencyDescriptors(decrypted.rtp, ddId);
    }
  } finally {
    await chromium.close();
    http.close();
  }
}

await main();
