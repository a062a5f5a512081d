// Bytes a synchronous piece of JavaScript allocates on the V8 heap's young generation, exactly:
// the used size of new_space (+ new_large_object_space) before and after, with no garbage
// collection in between (a scavenge would empty it; v8.GCProfiler tells whether one ran). What
// the reading itself allocates is measured on empty runs and taken off.

import v8 from 'node:v8';

export interface AllocationCount {
  /** Young-generation bytes allocated over the counted items (chunks without a GC), per item. */
  bytesPerItem: number;
  /** Items counted, and all items run (the difference ran in chunks a GC interrupted). */
  itemsCounted: number;
  items: number;
  /** Garbage collections during the run, by V8's type name (Scavenge, MarkSweepCompact, …). */
  gcs: Record<string, number>;
  /** Chunks interrupted by a GC (not counted). */
  chunksWithGc: number;
  chunks: number;
}

function youngBytes(): number {
  let used = 0;
  for (const space of v8.getHeapSpaceStatistics())
    if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space')
      used += space.space_used_size;
  return used;
}

/** V8's GC type flags (v8.GCType) by name, for the report. */
const GC_TYPES: Record<number, string> = {
  1: 'Scavenge',
  2: 'MinorMarkSweep',
  4: 'MarkSweepCompact',
  8: 'IncrementalMarking',
  16: 'ProcessWeakCallbacks',
};

/**
 * Runs `run(from, to)` over items [0, total) in chunks of `chunk`, each synchronously, with a turn
 * of the event loop between chunks (sends complete, peers read). Returns the young-generation bytes
 * per item over the chunks no GC interrupted.
 */
export async function countAllocations(
  total: number,
  chunk: number,
  run: (from: number, to: number) => void,
): Promise<AllocationCount> {
  // What one reading pair costs (the statistics' objects): the least of a few empty runs.
  let overhead = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 8; i++) {
    const a = youngBytes();
    const b = youngBytes();
    if (b >= a) overhead = Math.min(overhead, b - a);
  }
  if (!Number.isFinite(overhead)) throw new Error('a GC ran during every empty reading');
  const gcs: Record<string, number> = {};
  let bytes = 0;
  let itemsCounted = 0;
  let chunks = 0;
  let chunksWithGc = 0;
  for (let from = 0; from < total; from += chunk) {
    const to = Math.min(total, from + chunk);
    const profiler = new v8.GCProfiler();
    profiler.start();
    const before = youngBytes();
    run(from, to);
    const after = youngBytes();
    const stats = profiler.stop()?.statistics ?? [];
    chunks++;
    for (const s of stats) {
      const type = s.gcType as unknown;
      const name = typeof type === 'number' ? (GC_TYPES[type] ?? String(type)) : String(type);
      gcs[name] = (gcs[name] ?? 0) + 1;
    }
    if (stats.length > 0 || after < before) chunksWithGc++;
    else {
      bytes += Math.max(0, after - before - overhead);
      itemsCounted += to - from;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return {
    bytesPerItem: itemsCounted > 0 ? bytes / itemsCounted : Number.NaN,
    itemsCounted,
    items: total,
    gcs,
    chunksWithGc,
    chunks,
  };
}
