import { MAX_SPATIAL_LAYERS, MAX_TEMPORAL_LAYERS } from '../qos/video-layer.ts';

/** Per-layer bitrates are measured over windows of this length. */
const BITRATE_WINDOW_MS = 1000;

/**
 * The bytes an UpTrack receives per spatial and temporal layer, over windows of
 * BITRATE_WINDOW_MS: what the LayerAllocator and the admin view read as each layer's bitrate.
 *
 * Lifecycle: one per UpTrack, dropped with it.
 */
export class LayerBitrates {
  /** Bytes per [spatial * MAX_TEMPORAL_LAYERS + temporal] in the current window. */
  readonly #windowBytes = new Float64Array(MAX_SPATIAL_LAYERS * MAX_TEMPORAL_LAYERS);
  readonly #windowMaxTid = new Int8Array(MAX_SPATIAL_LAYERS).fill(-1);
  #windowStartMs: number;
  #bitrates: number[][] = [];

  constructor(nowMs: number) {
    this.#windowStartMs = nowMs;
  }

  /** A received packet of `bytes` on `spatial`/`temporal` (-1: the codec carries none). */
  count(spatial: number, temporal: number, bytes: number): void {
    if (spatial < 0 || spatial >= MAX_SPATIAL_LAYERS) return;
    const t = Math.min(Math.max(temporal, 0), MAX_TEMPORAL_LAYERS - 1);
    const slot = spatial * MAX_TEMPORAL_LAYERS + t;
    this.#windowBytes[slot] = this.#windowBytes[slot]! + bytes;
    if (t > this.#windowMaxTid[spatial]!) this.#windowMaxTid[spatial] = t;
  }

  /**
   * Measured bps per spatial layer and temporal layer, cumulative over temporal layers
   * (`[s][t]` = forwarding s with TIDs 0..t), over the last full window; 0 for what is not sent.
   */
  bitratesBps(nowMs: number): number[][] {
    const elapsed = nowMs - this.#windowStartMs;
    if (elapsed < BITRATE_WINDOW_MS) return this.#bitrates;
    const out: number[][] = [];
    for (let s = 0; s < MAX_SPATIAL_LAYERS; s++) {
      const maxTid = this.#windowMaxTid[s]!;
      if (maxTid < 0) continue;
      while (out.length < s) out.push([]);
      const row: number[] = [];
      let cumulative = 0;
      for (let t = 0; t <= maxTid; t++) {
        cumulative += this.#windowBytes[s * MAX_TEMPORAL_LAYERS + t]!;
        row.push((cumulative * 8 * 1000) / elapsed);
      }
      out.push(row);
    }
    this.#windowBytes.fill(0);
    this.#windowMaxTid.fill(-1);
    this.#windowStartMs = nowMs;
    this.#bitrates = out;
    return out;
  }
}
