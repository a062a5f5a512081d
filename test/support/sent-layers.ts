/// <reference lib="dom" />
import { type ParticipantPage, waitFor } from './chromium-participant.ts';

/**
 * Widths of the simulcast layers a publisher's page (`window.pc`, as BrowserParticipant keeps it)
 * is encoding now: those whose framesEncoded moved over 500 ms, ascending.
 */
export async function activeLayerWidths(p: { page: ParticipantPage }): Promise<number[]> {
  return p.page.evaluate(async () => {
    const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
    const frames = async () => {
      const out = new Map<string, { frames: number; width: number }>();
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video')
          out.set(s.id, { frames: s.framesEncoded ?? 0, width: s.frameWidth ?? 0 });
      });
      return out;
    };
    const before = await frames();
    await new Promise((r) => setTimeout(r, 500));
    const widths: number[] = [];
    for (const [id, now] of await frames())
      if (now.width > 0 && now.frames > (before.get(id)?.frames ?? 0)) widths.push(now.width);
    return widths.sort((a, b) => a - b);
  });
}

/**
 * Until a 3-layer simulcast publisher encodes its layers: three once libwebrtc's estimate allows
 * (30 s); under CPU pressure (other tests on a small machine) it may keep to two, which still has
 * a lowest and a top layer (10 s more). Their widths, ascending.
 */
export async function waitForSentLayers(p: { page: ParticipantPage }): Promise<number[]> {
  return waitFor(
    () => activeLayerWidths(p),
    (w) => w.length === 3,
    'three layers sent',
    30_000,
  ).catch(() =>
    waitFor(
      () => activeLayerWidths(p),
      (w) => w.length >= 2,
      'two layers sent',
      10_000,
    ),
  );
}
