import { monitorEventLoopDelay } from 'node:perf_hooks';
import { emptyMediaReport, type MediaWorkerReport, snapshotMediaCounters } from '../../lib/media-counters.ts';
import { snapshotMediaHistograms } from '../../lib/media-histograms.ts';

/** What the engine adds to its worker's report: the drops it counts and the objects it holds. */
export type EngineMediaReport = Omit<MediaWorkerReport, 'counters' | 'histograms'>;

/** Event-loop delay sampling step: fine enough for a p99 of milliseconds, one timer per worker. */
const DELAY_RESOLUTION_MS = 10;

/**
 * What a media worker reports about itself once a second (worker-host.ts posts it): the media
 * counters of its thread, what its engine holds, its event-loop delay over the interval and the
 * CPU time of its thread.
 *
 * Lifecycle: created when the worker serves → report() each interval → close().
 */
export class WorkerMediaReporter {
  readonly #delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });

  constructor() {
    this.#delay.enable();
  }

  /** The report now; the event-loop delay starts over for the next interval. */
  report(engine: { mediaReport?(): EngineMediaReport }): MediaWorkerReport {
    const base = engine.mediaReport?.() ?? emptyMediaReport();
    // No sample yet (an interval shorter than the resolution) reads as NaN: report no delay.
    const p99Ns = this.#delay.count > 0 ? this.#delay.percentile(99) : 0;
    this.#delay.reset();
    const cpu = process.threadCpuUsage();
    return {
      counters: snapshotMediaCounters(),
      drops: base.drops,
      gauges: {
        ...base.gauges,
        eventLoopDelayP99Seconds: p99Ns / 1e9,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
      },
      histograms: snapshotMediaHistograms(),
    };
  }

  close(): void {
    this.#delay.disable();
  }
}
