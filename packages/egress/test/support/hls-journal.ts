/// <reference lib="dom" />
import type { Page } from 'playwright-core';

/**
 * What hls.js and the video element did in the viewer page (watch.html), for a test to print when
 * playback did not do what it waited for: hls.js's errors, level switches, playlists loaded (live
 * or ended, their edge), parts buffered, end of stream, the element's stalls and
 * seeks, and the viewer's own log lines (`console`), each with the page time in ms; then a snapshot
 * of the playhead against the buffered ranges and the live sync position.
 */

/** Starts the journal (once `window.viewer` exists): the last 500 entries are kept. */
export async function startHlsJournal(page: Page): Promise<void> {
  await page.evaluate(() => {
    type Level = { attrs: Record<string, string> };
    type Details = { live: boolean; edge: number; startSN: number; endSN: number; fragmentStart: number };
    type Hls = {
      levels: Level[];
      on(event: string, listener: (e: string, data: Record<string, unknown>) => void): void;
    };
    const hls = (window as unknown as { viewer: { hls: Hls } }).viewer.hls;
    const journal: string[] = [];
    (window as unknown as { __hlsJournal: string[] }).__hlsJournal = journal;
    const add = (line: string) => {
      journal.push(`${Math.round(performance.now())} ${line}`);
      if (journal.length > 500) journal.shift();
    };
    const id = (level: unknown) =>
      typeof level === 'number' ? (hls.levels[level]?.attrs['STABLE-VARIANT-ID'] ?? `#${level}`) : '?';
    const frag = (data: Record<string, unknown>) => {
      const f = data.frag as { level: number; sn: number | string; start: number; duration: number };
      const part = data.part as { index: number } | null | undefined;
      const at = `${f.start.toFixed(3)}+${f.duration.toFixed(3)}`;
      return `${id(f.level)} sn ${f.sn}${part ? `.${part.index}` : ''} ${at}`;
    };
    hls.on('hlsError', (_e, d) => add(`ERROR ${d.type} ${d.details} fatal=${d.fatal} ${d.reason ?? ''}`));
    hls.on('hlsLevelSwitching', (_e, d) => add(`LEVEL_SWITCHING ${id(d.level)}`));
    hls.on('hlsLevelSwitched', (_e, d) => add(`LEVEL_SWITCHED ${id(d.level)}`));
    hls.on('hlsLevelLoaded', (_e, d) => {
      const x = d.details as Details;
      add(
        `LEVEL_LOADED ${id(d.level)} live=${x.live} sn ${x.startSN}-${x.endSN} ` +
          `${x.fragmentStart.toFixed(3)}-${x.edge.toFixed(3)}`,
      );
    });
    hls.on('hlsFragBuffered', (_e, d) => add(`FRAG_BUFFERED ${frag(d)}`));
    hls.on('hlsBufferEos', (_e, d) => add(`BUFFER_EOS ${d.type ?? 'all'}`));
    hls.on('hlsBufferedToEnd', () => add('BUFFERED_TO_END'));
    hls.on('hlsBufferFlushed', (_e, d) => add(`BUFFER_FLUSHED ${d.type}`));
    hls.on('hlsStallResolved', () => add('STALL_RESOLVED'));
    const video = document.querySelector('video') as HTMLVideoElement;
    for (const name of ['waiting', 'stalled', 'ended', 'seeking', 'seeked', 'pause', 'playing']) {
      video.addEventListener(name, () =>
        add(`video ${name} t=${video.currentTime.toFixed(3)} duration=${video.duration}`),
      );
    }
    for (const level of ['info', 'warn', 'error'] as const) {
      const original = console[level].bind(console);
      console[level] = (...args: unknown[]) => {
        add(`console.${level} ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
        original(...args);
      };
    }
  });
}

/** The journal, then the playhead, buffered ranges, duration and hls.js's live positions now. */
export async function hlsJournal(page: Page): Promise<string> {
  return page
    .evaluate(() => {
      type Details = { live: boolean; edge: number; endSN: number };
      type Hls = {
        currentLevel: number;
        liveSyncPosition: number | null;
        levels: Array<{ attrs: Record<string, string>; details?: Details }>;
      };
      const hls = (window as unknown as { viewer?: { hls: Hls } }).viewer?.hls;
      const video = document.querySelector('video') as HTMLVideoElement;
      const ranges: string[] = [];
      for (let i = 0; i < video.buffered.length; i++)
        ranges.push(`${video.buffered.start(i).toFixed(3)}-${video.buffered.end(i).toFixed(3)}`);
      const levels = (hls?.levels ?? []).map((l) => {
        const d = l.details;
        const at = d ? `live=${d.live} endSN=${d.endSN} edge=${d.edge.toFixed(3)}` : 'not loaded';
        return `${l.attrs['STABLE-VARIANT-ID']}: ${at}`;
      });
      const journal = (window as unknown as { __hlsJournal?: string[] }).__hlsJournal ?? [];
      return [
        ...journal,
        `now ${Math.round(performance.now())}: currentTime ${video.currentTime.toFixed(3)}, ` +
          `buffered [${ranges.join(', ')}], duration ${video.duration}, paused ${video.paused}, ` +
          `ended ${video.ended}, readyState ${video.readyState}, currentLevel ${hls?.currentLevel}, ` +
          `liveSyncPosition ${hls?.liveSyncPosition?.toFixed(3)}`,
        `levels: ${levels.join('; ')}`,
      ].join('\n');
    })
    .catch((err: unknown) => `(no journal: ${err instanceof Error ? err.message : String(err)})`);
}
