/// <reference lib="dom" />
// Chromium in the bench: (1) encodes the replayed media once (WebCodecs VP8 at the three simulcast
// sizes, one 3 s group of pictures each), so the load peers send frames a real decoder accepts;
// (2) viewers that join a loaded room and time subscribe → first RTP and → first decoded frame.
import { existsSync } from 'node:fs';
import { CHROMIUM_PATH, launchChromium } from '../test/support/browser.ts';
import type { EncodedLayers } from './encoded-media.ts';
import { GOP_FRAMES, SIMULCAST_720P, VIDEO_FPS } from './media-packets.ts';
import { joinRoom } from './provision.ts';
import { WaterbusSignal } from './signal.ts';

export type Chromium = Awaited<ReturnType<typeof launchChromium>>;

export function chromiumAvailable(): { ok: boolean; reason: string } {
  return existsSync(CHROMIUM_PATH)
    ? { ok: true, reason: '' }
    : { ok: false, reason: `Chromium not found at ${CHROMIUM_PATH} (set CHROMIUM_PATH)` };
}

export async function startChromium(): Promise<Chromium> {
  return launchChromium();
}

/** Encodes GOP_FRAMES frames of a moving test picture per simulcast layer with WebCodecs VP8. */
export async function encodeLayers(chromium: Chromium, secureOrigin: string): Promise<EncodedLayers> {
  const context = await chromium.newContext();
  try {
    const page = await context.newPage();
    // WebCodecs needs a secure context: loopback http is one.
    await page.goto(`${secureOrigin}/healthz`);
    return await page.evaluate(
      async ({ layers, frames, fps }) => {
        const out: Record<string, Array<{ key: boolean; data: string }>> = {};
        const toBase64 = (bytes: Uint8Array) => {
          let s = '';
          for (let i = 0; i < bytes.length; i += 0x8000)
            s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
          return btoa(s);
        };
        for (const layer of layers) {
          const chunks: Array<{ key: boolean; data: string }> = [];
          const encoder = new VideoEncoder({
            output: (chunk) => {
              const b = new Uint8Array(chunk.byteLength);
              chunk.copyTo(b);
              chunks.push({ key: chunk.type === 'key', data: toBase64(b) });
            },
            error: (e) => {
              throw e;
            },
          });
          encoder.configure({
            codec: 'vp8',
            width: layer.width,
            height: layer.height,
            bitrate: layer.bitrateBps,
            framerate: fps,
            latencyMode: 'realtime',
          });
          const canvas = new OffscreenCanvas(layer.width, layer.height);
          const ctx = canvas.getContext('2d')!;
          for (let i = 0; i < frames; i++) {
            const g = ctx.createLinearGradient(0, 0, layer.width, layer.height);
            g.addColorStop(0, `hsl(${(i * 4) % 360} 70% 50%)`);
            g.addColorStop(1, `hsl(${(i * 4 + 180) % 360} 70% 40%)`);
            ctx.fillStyle = g;
            ctx.fillRect(0, 0, layer.width, layer.height);
            for (let r = 0; r < 40; r++) {
              ctx.fillStyle = `hsl(${(r * 37 + i * 7) % 360} 80% 60%)`;
              const size = layer.width / 16;
              ctx.fillRect(
                ((r * 97 + i * (3 + (r % 5))) % layer.width) - size / 2,
                ((r * 53 + i * (2 + (r % 3))) % layer.height) - size / 2,
                size,
                size,
              );
            }
            ctx.fillStyle = '#fff';
            ctx.font = `${Math.round(layer.height / 8)}px sans-serif`;
            ctx.fillText(`BBMEET ${layer.rid} ${i}`, 10, layer.height / 2);
            const frame = new VideoFrame(canvas, { timestamp: Math.round((i * 1e6) / fps) });
            encoder.encode(frame, { keyFrame: i === 0 });
            frame.close();
          }
          await encoder.flush();
          encoder.close();
          out[layer.rid] = chunks;
        }
        return out;
      },
      { layers: SIMULCAST_720P, frames: GOP_FRAMES, fps: VIDEO_FPS },
    );
  } finally {
    await context.close();
  }
}

export interface ViewerTiming {
  /**
   * The viewer's steps, ms from its subscribe message: the server's offer received, the page's
   * answer made (setLocalDescription done: Chromium starts ICE), the answer acknowledged by the
   * server, ICE connected and DTLS connected (the page's iceconnectionstatechange and
   * connectionstatechange events); null when the step never came.
   */
  offerMs: number | null;
  answerMadeMs: number | null;
  answerAckedMs: number | null;
  iceConnectedMs: number | null;
  dtlsConnectedMs: number | null;
  firstRtpMs: number | null;
  firstFrameMs: number | null;
  frameWidth: number;
  /** The page's connection state when it stopped waiting (for the report when nothing came). */
  connectionState: string;
}

/**
 * One Chromium viewer: joins `roomId` over REST, subscribes to `publisherId` as the Waterbus SDK
 * does (server offer → page answer), and times from the subscribe message to the first video RTP
 * packet and the first decoded frame (getStats, polled every 10 ms in the page).
 */
export async function chromiumViewer(
  chromium: Chromium,
  server: { baseUrl: string; apiKey: string; roomId: string; code: string; publisherId: string },
  timeoutMs: number,
): Promise<ViewerTiming> {
  const identity = await joinRoom(server.baseUrl, server.apiKey, server);
  const context = await chromium.newContext();
  const signal = await WaterbusSignal.connect(identity);
  try {
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}/healthz`);
    const subscribedAt = Date.now();
    const offer = await signal.subscribe(server.publisherId);
    const offerAt = Date.now();
    const answer = await page.evaluate(async (offer) => {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
      const steps = { ice: null as number | null, dtls: null as number | null };
      pc.addEventListener('iceconnectionstatechange', () => {
        const s = pc.iceConnectionState;
        if (steps.ice === null && (s === 'connected' || s === 'completed')) steps.ice = Date.now();
      });
      pc.addEventListener('connectionstatechange', () => {
        if (steps.dtls === null && pc.connectionState === 'connected') steps.dtls = Date.now();
      });
      Object.assign(window, { benchPc: pc, benchSteps: steps });
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      await pc.setLocalDescription(await pc.createAnswer());
      return { sdp: pc.localDescription!.sdp, madeAt: Date.now() };
    }, offer);
    await signal.answer(server.publisherId, answer.sdp);
    const answerAckedAt = Date.now();
    const seen = await page.evaluate(async (timeoutMs) => {
      const { benchPc: pc, benchSteps: steps } = window as unknown as {
        benchPc: RTCPeerConnection;
        benchSteps: { ice: number | null; dtls: number | null };
      };
      let firstRtp: number | null = null;
      let firstFrame: number | null = null;
      let width = 0;
      const end = Date.now() + timeoutMs;
      while (Date.now() < end && firstFrame === null) {
        const stats = await pc.getStats();
        stats.forEach((s) => {
          if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
          if (firstRtp === null && (s.packetsReceived ?? 0) > 0) firstRtp = Date.now();
          if (firstFrame === null && (s.framesDecoded ?? 0) > 0) {
            firstFrame = Date.now();
            width = s.frameWidth ?? 0;
          }
        });
        await new Promise((r) => setTimeout(r, 10));
      }
      const state = `${pc.connectionState}/${pc.iceConnectionState}`;
      pc.close();
      return { firstRtp, firstFrame, width, state, ice: steps.ice, dtls: steps.dtls };
    }, timeoutMs);
    const since = (at: number | null) => (at === null ? null : at - subscribedAt);
    return {
      offerMs: since(offerAt),
      answerMadeMs: since(answer.madeAt),
      answerAckedMs: since(answerAckedAt),
      iceConnectedMs: since(seen.ice),
      dtlsConnectedMs: since(seen.dtls),
      firstRtpMs: seen.firstRtp === null ? null : seen.firstRtp - subscribedAt,
      firstFrameMs: seen.firstFrame === null ? null : seen.firstFrame - subscribedAt,
      frameWidth: seen.width,
      connectionState: seen.state,
    };
  } finally {
    signal.close();
    await context.close();
  }
}
