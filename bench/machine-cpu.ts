// The whole machine's CPU over a window (/proc/stat, all cores): with the server's and the load
// processes' own accounting subtracted, what other work took while the bench measured. A shared or
// busy machine slows the server and the load generator alike, and says so through this figure.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Busy CPU seconds of the whole machine since boot (all but idle and iowait); undefined off Linux. */
export function machineBusySeconds(stat?: string): number | undefined {
  try {
    const text = stat ?? readFileSync('/proc/stat', 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('cpu '));
    if (!line) return undefined;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    if (f.length < 5 || f.some((n) => !Number.isFinite(n))) return undefined;
    // user nice system idle iowait irq softirq steal (guest time is inside user and nice)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - f[3]! - f[4]!) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
