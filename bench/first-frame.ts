// Where a Chromium viewer's first frame waits: the server times each subscription's steps
// (bbmeet_media_subscribe_*_seconds, from the subscription made to answer applied, ICE selected,
// DTLS done, first RTP sent, first keyframe sent) and the page times first RTP received and first
// frame decoded. Two scrapes of /metrics around the viewers give the server's steps for them
// alone (bucket medians, interpolated as histogram_quantile does); the page's are exact medians.
import { type Chromium, chromiumViewer, type ViewerTiming } from './chromium.ts';
import { type LatencyBuckets, latencyQuantileMs, parseLatencyBuckets } from './server-latency.ts';
import { percentile, round } from './stats.ts';
import type { StepResult } from './step-types.ts';
import { headlineStep } from './summary.ts';

/** The server's steps, in order, by the histogram that holds each. */
const STEPS = {
  answer: 'bbmeet_media_subscribe_answer_seconds_bucket',
  ice_selected: 'bbmeet_media_subscribe_ice_selected_seconds_bucket',
  dtls_connected: 'bbmeet_media_subscribe_connected_seconds_bucket',
  first_rtp_sent: 'bbmeet_media_subscribe_first_rtp_seconds_bucket',
  first_keyframe_sent: 'bbmeet_media_subscribe_first_keyframe_seconds_bucket',
} as const;
type Step = keyof typeof STEPS;

/** How the viewers' video started (bbmeet_media_video_starts_total), by its `how` label. */
const STARTS = 'bbmeet_media_video_starts_total{';

/** Datagrams the media workers dropped, by reason (bbmeet_media_dropped_total). */
const DROPPED = 'bbmeet_media_dropped_total{';

/** How long a viewer waits for its first frame. */
const VIEWER_TIMEOUT_MS = 10_000;

/** Worker histograms reach /metrics with the worker's report, once a second. */
const REPORT_WAIT_MS = 1500;

/** The page's steps (ViewerTiming), in order, by the field that holds each. */
const PAGE_STEPS = {
  chromium_offer: 'offerMs',
  chromium_answer_made: 'answerMadeMs',
  chromium_answer_acked: 'answerAckedMs',
  chromium_ice_connected: 'iceConnectedMs',
  chromium_dtls_connected: 'dtlsConnectedMs',
  chromium_first_rtp: 'firstRtpMs',
  chromium_first_frame: 'firstFrameMs',
} as const satisfies Record<string, keyof ViewerTiming>;
type PageStep = keyof typeof PAGE_STEPS;

/** Median ms from subscribe to each step (server side from the subscription made; page side from the subscribe message). */
export type FirstFrameSteps = Record<Step, number | null> &
  Record<PageStep, number | null> & {
    /** Per viewer, first frame decoded − first RTP received: the wait for a decodable keyframe. */
    chromium_frame_after_rtp: number | null;
    /** Video starts in the window: from the cached keyframe, and by asking the publisher (counts, not ms). */
    starts_cached_keyframe: number | null;
    starts_keyframe_request: number | null;
    /** Datagrams dropped from unknown peer addresses in the window (a lost DTLS flight shows here). */
    dropped_unknown_peer: number | null;
  };

interface Scrape {
  steps: Record<Step, LatencyBuckets>;
  starts: Map<string, number>;
  unknownPeer: number;
}

async function scrape(baseUrl: string): Promise<Scrape | undefined> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const steps = {} as Record<Step, LatencyBuckets>;
    for (const step of Object.keys(STEPS) as Step[]) steps[step] = parseLatencyBuckets(text, STEPS[step]);
    const starts = new Map<string, number>();
    let unknownPeer = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(DROPPED) && line.includes('reason="unknown_peer"'))
        unknownPeer += Number(line.slice(line.lastIndexOf(' ') + 1));
      const how = line.startsWith(STARTS) ? /how="([a-z_]+)"/.exec(line)?.[1] : undefined;
      if (how) starts.set(how, (starts.get(how) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
    return { steps, starts, unknownPeer };
  } catch {
    // No /metrics (or a busy server): the page's figures still stand.
    return undefined;
  }
}

/**
 * Runs `count` Chromium viewers one after another (chromiumViewer), pushing their timings into
 * `timings`, and returns the median of each step over them.
 */
export async function timeFirstFrames(
  chromium: Chromium,
  server: { baseUrl: string; apiKey: string; roomId: string; code: string; publisherId: string },
  count: number,
  timings: Array<Pick<ViewerTiming, 'firstRtpMs' | 'firstFrameMs' | 'frameWidth'>>,
): Promise<FirstFrameSteps> {
  const before = await scrape(server.baseUrl);
  const mine: ViewerTiming[] = [];
  let failed = 0;
  for (let v = 0; v < count; v++) {
    try {
      mine.push(await chromiumViewer(chromium, server, VIEWER_TIMEOUT_MS));
    } catch (err) {
      failed++;
      process.stderr.write(`\nchromium viewer failed: ${(err as Error).message}\n`);
    }
  }
  // A viewer with no frame (or one that failed) counts as VIEWER_TIMEOUT_MS, a lower bound, so the
  // p95 is not of the lucky ones; unless none decoded at all (the media, not the wait: no figure).
  const decoded = mine.filter((t) => t.firstFrameMs !== null).length;
  const censor = (t: ViewerTiming) => ({ ...t, firstFrameMs: t.firstFrameMs ?? VIEWER_TIMEOUT_MS });
  if (decoded === 0) timings.push(...mine);
  else {
    timings.push(...mine.map(censor));
    for (let i = 0; i < failed; i++)
      timings.push({ firstRtpMs: null, firstFrameMs: VIEWER_TIMEOUT_MS, frameWidth: 0 });
  }
  if (decoded < count)
    process.stderr.write(
      `${count - decoded} of ${count} Chromium viewers decoded no frame within ${VIEWER_TIMEOUT_MS} ms\n`,
    );
  const each = mine.map((t) => `${t.firstRtpMs ?? '-'}/${t.firstFrameMs ?? '-'}`).join(' ');
  process.stderr.write(`\nChromium viewers, first RTP / first frame (ms from subscribe): ${each}\n`);
  const timeline = mine
    .map((t) =>
      Object.values(PAGE_STEPS)
        .map((field) => t[field] ?? '-')
        .join('/'),
    )
    .join(' ');
  process.stderr.write(
    `Chromium viewers, offer / answer made / answer acked / ICE connected / DTLS connected / first RTP / first frame: ${timeline}\n`,
  );
  await new Promise((r) => setTimeout(r, REPORT_WAIT_MS));
  const after = await scrape(server.baseUrl);
  const steps = {} as FirstFrameSteps;
  for (const step of Object.keys(STEPS) as Step[]) {
    const q = before && after ? latencyQuantileMs(before.steps[step], after.steps[step], 0.5) : null;
    steps[step] = q === null ? null : round(q, 0);
  }
  for (const step of Object.keys(PAGE_STEPS) as PageStep[])
    steps[step] = medianOf(mine.map((t) => t[PAGE_STEPS[step]]));
  const started = (how: string) =>
    before && after ? (after.starts.get(how) ?? 0) - (before.starts.get(how) ?? 0) : null;
  steps.starts_cached_keyframe = started('cached_keyframe');
  steps.starts_keyframe_request = started('keyframe_request');
  steps.dropped_unknown_peer = before && after ? after.unknownPeer - before.unknownPeer : null;
  steps.chromium_frame_after_rtp = medianOf(
    mine.map((t) =>
      t.firstFrameMs === null || t.firstRtpMs === null ? null : t.firstFrameMs - t.firstRtpMs,
    ),
  );
  return steps;
}

function medianOf(values: Array<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? round(percentile(known, 0.5), 0) : null;
}

/** One line for the terminal: each step's median. */
export function describeFirstFrameSteps(s: FirstFrameSteps): string {
  const ms = (v: number | null) => (v === null ? '-' : `${v}`);
  return (
    `first frame steps (median ms from subscribe): Chromium offer received ${ms(s.chromium_offer)}, answer made ` +
    `${ms(s.chromium_answer_made)}, answer acknowledged ${ms(s.chromium_answer_acked)}, ICE connected ` +
    `${ms(s.chromium_ice_connected)}, DTLS connected ${ms(s.chromium_dtls_connected)}; server: ` +
    `answer ${ms(s.answer)}, ICE ${ms(s.ice_selected)}, ` +
    `DTLS ${ms(s.dtls_connected)}, first RTP sent ${ms(s.first_rtp_sent)}, first keyframe sent ` +
    `${ms(s.first_keyframe_sent)}, Chromium first RTP ${ms(s.chromium_first_rtp)}, first frame ` +
    `${ms(s.chromium_first_frame)} (${ms(s.chromium_frame_after_rtp)} after its first RTP); video ` +
    `started from the cached keyframe ${ms(s.starts_cached_keyframe)}, by a request ${ms(s.starts_keyframe_request)}; ` +
    `datagrams dropped from unknown peers ${ms(s.dropped_unknown_peer)}`
  );
}

/**
 * The fan-out step at half load, as for the latency figures (summary.ts): the one forwarding
 * closest to half the headline step's packets/s. The Chromium viewers run in a repeat of it, once
 * every fan-out step has run and the headline is known (at the largest step they would time a
 * saturated server, not the goal's half load).
 */
export function halfLoadStep(results: StepResult[]): StepResult | undefined {
  const halfPps = (headlineStep(results)?.out_pps ?? 0) / 2;
  return results
    .filter((r) => r.system === 'bbmeet' && r.scenario === 'fanout' && r.out_pps > 0)
    .sort((a, b) => Math.abs(a.out_pps - halfPps) - Math.abs(b.out_pps - halfPps))[0];
}
