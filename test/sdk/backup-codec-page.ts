import assert from 'node:assert/strict';
import { eventually, type ScriptablePage, seesVideoOf } from './demo-page.ts';

/**
 * What a demo page receives and sends of a camera with a backup codec, from its recorded
 * connections (recordPeerConnections): the codec a tile is decoded in, and the publisher's
 * packets per codec. Shared by the backup codec tests (demo-backup-codec*.test.ts).
 */

/** A page that runs a function with one argument (playwright's and puppeteer's both do). */
interface ArgumentPage {
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}

/**
 * The codec (mime type) and frames decoded of `name`'s camera as the page receives it: the
 * inbound-rtp of the track its tile plays (pages record their connections in window.__pcs).
 */
export function receivedCamera(
  page: ScriptablePage,
  name: string,
): Promise<{ codec: string; frames: number }> {
  return (page as unknown as ArgumentPage).evaluate(async (tileName: string) => {
    const video = document.querySelector<HTMLVideoElement>(
      `#grid .tile[data-name="${tileName}"][data-source="camera"] video`,
    );
    const track = (video?.srcObject as MediaStream | null)?.getVideoTracks()[0];
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    for (const pc of track ? pcs : []) {
      if (pc.signalingState === 'closed' || !pc.getReceivers().some((r) => r.track === track)) continue;
      const report = await pc.getStats(track);
      for (const s of report.values()) {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video') continue;
        const codec = s.codecId ? (report.get(s.codecId) as { mimeType: string } | undefined) : undefined;
        return { codec: codec?.mimeType ?? '', frames: (s.framesDecoded as number | undefined) ?? 0 };
      }
    }
    return { codec: '', frames: 0 };
  }, name);
}

/** What the page's publisher connection sends per video codec: packets and whether an encoding is on. */
export function sentVideo(
  page: ScriptablePage,
): Promise<Record<string, { packets: number; active: boolean }>> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const out: Record<string, { packets: number; active: boolean }> = {};
    for (const pc of pcs) {
      if (pc.signalingState === 'closed') continue;
      const report = await pc.getStats();
      report.forEach((s) => {
        if (s.type !== 'outbound-rtp' || s.kind !== 'video' || !s.codecId) return;
        const mime = (report.get(s.codecId) as { mimeType: string }).mimeType;
        const entry = out[mime] ?? { packets: 0, active: false };
        entry.packets += s.packetsSent ?? 0;
        entry.active ||= s.active !== false;
        out[mime] = entry;
      });
    }
    return out;
  });
}

/** `name`'s camera keeps arriving on `page` in `codec`, frames advancing. */
export async function keepsDecoding(page: ScriptablePage, name: string, codec: string): Promise<void> {
  await seesVideoOf(page, [name]);
  const first = await receivedCamera(page, name);
  assert.equal(first.codec, codec, `${name}'s camera is received in ${codec}`);
  await eventually(
    () => receivedCamera(page, name),
    (now) => now.codec === codec && now.frames > first.frames + 10,
    `${name}'s camera decoding in ${codec}`,
  );
}
