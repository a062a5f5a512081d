import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { silentLogger } from '../../../src/lib/logger.ts';
import { forEachRtcp, ntpToUnixMs, parseSenderReport } from '../../../src/rtp/rtcp.ts';
import { HandoverBatchWriter, type RelayedTrack, type TapMessage } from '../../../src/sfu/egress-backend.ts';
import type { MediaFrame } from '../src/media/frame.ts';
import { TapReader } from '../src/media/tap-reader.ts';

const PORT_TRIES = 20;
/** The NTP time (ms) the synthesized sender reports give media time 0. */
const MEDIA_START_NTP_MS = 3_900_000_000_000;
/** ffmpeg runs for seconds of media with -re; this bounds a hung one. */
const FFMPEG_TIMEOUT_MS = 60_000;

async function bind(port: number): Promise<Socket | undefined> {
  const socket = createSocket('udp4');
  try {
    socket.bind(port, '127.0.0.1');
    await once(socket, 'listening');
    return socket;
  } catch {
    socket.close();
    return undefined;
  }
}

/** Two UDP sockets on consecutive free ports (RTP, RTCP = RTP + 1), as ffmpeg's RTP muxer sends. */
async function portPair(): Promise<[Socket, Socket]> {
  for (let i = 0; i < PORT_TRIES; i++) {
    const rtp = await bind(0);
    const port = rtp!.address().port;
    const rtcp = port % 2 === 0 ? await bind(port + 1) : undefined;
    if (rtcp) return [rtp!, rtcp];
    rtp!.close();
  }
  throw new Error('no free pair of UDP ports');
}

export interface TapRun {
  reader: TapReader;
  frames: Array<{ relayId: number; frame: MediaFrame }>;
  feedback: unknown[];
  senderReports: number;
}

/**
 * Streams ffmpeg's RTP through a real tap path: each output of `args(ports)` (one `rtp://` URL per
 * track, in `tracks` order) arrives on a UDP socket, is put in handover batches for its track's
 * relayId as a tap's worker does, and crosses a MessageChannel to a TapReader; the sender reports
 * ffmpeg sends on RTP + 1 become `sr` messages. Resolves when ffmpeg ended and the reader read all.
 *
 * `senderReports: 'media'` replaces ffmpeg's reports by one per stream, before its first packet,
 * that puts every stream's first packet (media time 0 of each lavfi input) at the same NTP time.
 * Why: ffmpeg's reports tie RTP time to the wall clock at which it sent each stream's first
 * packet, and the encoders start up at different times (29 to 222 ms apart here), so they cannot
 * test A/V sync; the arrival of the packets is left as skewed as ffmpeg sends it.
 */
export async function streamThroughTap(
  tracks: RelayedTrack[],
  args: (ports: number[]) => string[],
  onFrame: (relayId: number, frame: MediaFrame) => void = () => {},
  senderReports: 'ffmpeg' | 'media' = 'ffmpeg',
): Promise<TapRun> {
  const { port1, port2 } = new MessageChannel();
  const frames: TapRun['frames'] = [];
  const feedback: unknown[] = [];
  port2.on('message', (m) => feedback.push(m));
  const gone = Promise.withResolvers<void>();
  const reader = new TapReader(port1, tracks, {
    logger: silentLogger(),
    onGone: () => gone.resolve(),
    onFrame: (track, frame) => {
      frames.push({ relayId: track.relayId, frame });
      onFrame(track.relayId, frame);
    },
  });
  const post = (m: TapMessage, transfer?: ArrayBuffer) => port2.postMessage(m, transfer ? [transfer] : []);
  const writer = new HandoverBatchWriter({ onBatch: (batch) => post({ t: 'rtp', batch }, batch) });
  const run: TapRun = { reader, frames, feedback, senderReports: 0 };
  const sockets: Socket[] = [];
  for (const track of tracks) {
    const [rtp, rtcp] = await portPair();
    sockets.push(rtp, rtcp);
    let first = true;
    rtp.on('message', (packet) => {
      if (first && senderReports === 'media' && packet.length >= 12) {
        run.senderReports++;
        const ssrc = packet.readUInt32BE(8);
        post({
          t: 'sr',
          relayId: track.relayId,
          ssrc,
          ntpMs: MEDIA_START_NTP_MS,
          rtpTimestamp: packet.readUInt32BE(4),
        });
      }
      first = false;
      writer.append(track.relayId, 0, packet);
    });
    rtcp.on('message', (packet) => {
      if (senderReports !== 'ffmpeg') return;
      forEachRtcp(packet, (p) => {
        const sr = parseSenderReport(packet, p);
        if (!sr) return;
        run.senderReports++;
        const ntpMs = ntpToUnixMs(sr.ntpSeconds, sr.ntpFraction);
        post({ t: 'sr', relayId: track.relayId, ssrc: sr.ssrc, ntpMs, rtpTimestamp: sr.rtpTimestamp });
      });
    });
  }
  const child = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      ...args(sockets.filter((_, i) => i % 2 === 0).map((s) => s.address().port)),
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: FFMPEG_TIMEOUT_MS,
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`ffmpeg exited with ${code}: ${stderr}`);
  // Why: datagrams already queued on the sockets are read before the tap is declared over.
  await new Promise((resolve) => setImmediate(resolve));
  writer.flush();
  post({ t: 'gone' });
  await gone.promise;
  for (const socket of sockets) socket.close();
  port1.close();
  return run;
}
