// The demo page's stats overlay: bitrate, resolution, RTT and loss on each tile, every second.
import { type ConnectionStats, formatBitrate } from '../src/sdk/index.ts';
import { session } from './demo-session.ts';
import { $ } from './page.ts';
import { tiles } from './tiles.ts';

let statsTimer: ReturnType<typeof setInterval> | null = null;

function renderStats(stats: Record<string, ConnectionStats>): void {
  for (const tile of tiles.values()) {
    const box = tile.el.querySelector<HTMLElement>('.tile-stats')!;
    const isLocal = tile.el.dataset.local === 'true';
    const s = stats[isLocal ? 'local' : tile.el.dataset.participant!];
    box.hidden = !s;
    if (!s) continue;
    const source = tile.video.srcObject as MediaStream | null;
    const trackId = source?.getVideoTracks()[0]?.id;
    const video = trackId ? s.videos[trackId] : undefined;
    const lines = [
      `${isLocal ? 'send' : 'recv'} ${formatBitrate(s.bitrate)}`,
      video?.width ? `${video.width}×${video.height} @${Math.round(video.framesPerSecond)}fps` : 'no video',
      `rtt ${s.roundTripTime === null ? '–' : `${Math.round(s.roundTripTime * 1000)} ms`}`,
      `loss ${(s.lossRate * 100).toFixed(1)}%`,
    ];
    box.textContent = lines.join('\n');
  }
}

export function toggleStats(): void {
  const on = statsTimer === null;
  $('stats').setAttribute('aria-pressed', String(on));
  if (on) {
    const tick = () =>
      void session.room
        ?.getStats()
        .then(renderStats)
        .catch(() => undefined);
    tick();
    statsTimer = setInterval(tick, 1000);
  } else {
    if (statsTimer) clearInterval(statsTimer);
    statsTimer = null;
    for (const tile of tiles.values()) tile.el.querySelector<HTMLElement>('.tile-stats')!.hidden = true;
  }
}

/** The call ended: no more stats. */
export function stopStats(): void {
  if (statsTimer) clearInterval(statsTimer);
  statsTimer = null;
}
