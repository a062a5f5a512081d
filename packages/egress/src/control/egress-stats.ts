import type { EgressKind, EgressStats } from '../../../../src/protocol/egress.ts';

/**
 * What this process's egress did since it started (EgressBackend.stats(), the `bbmeet_egress_*`
 * metrics). HLS segment writes are counted as they land; recordings' bytes and transcoders' CPU
 * time are read from their outputs when asked, and an output that ends leaves its last values in
 * the totals, so the counters never go down.
 */

/** A running output read at each snapshot: bytes it wrote, CPU seconds its transcoders used. */
export interface StatsSource {
  bytesWritten(): number;
  transcodeCpuSeconds(): number;
}

export class EgressStatsCollector {
  #segments = 0;
  #pushedBytes = 0;
  #endedBytes = 0;
  #endedCpuSeconds = 0;
  readonly #sources = new Set<StatsSource>();

  /** An HLS file written (`segment`: a complete media segment; otherwise an init segment or a part). */
  fileWritten(bytes: number, segment: boolean): void {
    this.#pushedBytes += bytes;
    if (segment) this.#segments++;
  }

  /** Reads `source` at each snapshot until the returned function is called (its output ended). */
  track(source: StatsSource): () => void {
    this.#sources.add(source);
    return () => {
      // Why: ending twice (stop after a failure) must not count the output's totals twice.
      if (!this.#sources.delete(source)) return;
      this.#endedBytes += source.bytesWritten();
      this.#endedCpuSeconds += source.transcodeCpuSeconds();
    };
  }

  snapshot(active: Record<EgressKind, number>, uploadErrors: number): EgressStats {
    let bytes = this.#pushedBytes + this.#endedBytes;
    let cpu = this.#endedCpuSeconds;
    for (const source of this.#sources) {
      bytes += source.bytesWritten();
      cpu += source.transcodeCpuSeconds();
    }
    return {
      active: { ...active },
      segmentsWritten: this.#segments,
      bytesWritten: bytes,
      uploadErrors,
      transcodeCpuSeconds: cpu,
    };
  }
}
