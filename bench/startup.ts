// Measures `bbmeet start`: time from spawn to "ready" (/readyz answering) and idle RSS after
// settling, over several starts on a fresh data directory each (embedded database), with one media
// worker per core (MEDIA_WORKERS, as `npm start` has by default) unless --workers says otherwise.
// The first start has an empty compile cache (Node strips the TypeScript in every thread); the
// medians are over the others. Method and figures: BENCHMARKS.md, "Idle memory".
// Usage: npm run bench:startup [-- --runs 5] [--settle-ms 3000] [--workers N]
import { parseArgs } from 'node:util';
import { measureIdleMemory } from './idle-memory.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'settle-ms': { type: 'string', default: '3000' },
    workers: { type: 'string' },
  },
});
const runs = Number(values.runs);
const result = await measureIdleMemory({
  runs,
  settleMs: Number(values['settle-ms']),
  workers: values.workers === undefined ? undefined : Number(values.workers),
  onRun: (r, i) =>
    process.stderr.write(
      `run ${i + 1}/${runs}${r.coldCache ? ' (empty compile cache)' : ''}: ready ${r.readyMs.toFixed(0)} ms, ` +
        `idle RSS ${r.rssMb.toFixed(1)} MB (anonymous ${r.rssAnonMb.toFixed(1)}, files ${r.rssFileMb.toFixed(1)})\n`,
    ),
});
const mb = (x: number) => Number(x.toFixed(1));
console.log(
  JSON.stringify({
    runs,
    media_workers: result.workers,
    ready_ms_p50: Math.round(result.readyMsP50),
    idle_rss_mb_p50: mb(result.rssMbP50),
    idle_rss_anon_mb_p50: mb(result.rssAnonMbP50),
    idle_rss_file_mb_p50: mb(result.rssFileMbP50),
    first_start_rss_mb: mb(result.firstStartRssMb),
    goals: { ready_ms: 2000, idle_rss_mb: 150 },
  }),
);
