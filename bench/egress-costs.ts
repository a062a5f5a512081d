// Pure parts of the egress benchmark (bench/egress.ts): reading a process's CPU and parent from
// /proc/<pid>/stat, summing the CPU of a process's ffmpeg children over a window, and turning the
// measured windows into costs per stream and per subscriber.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** The command name (`ffmpeg`), without its parentheses. */
  comm: string;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

/** One /proc/<pid>/stat line; undefined when it is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // Fields after the command name (which may hold spaces and parentheses): state is field 3,
  // ppid 4, utime 14, stime 15.
  const fields = text.slice(close + 2).split(' ');
  const pid = Number(text.slice(0, open).trim());
  const ppid = Number(fields[1]);
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  if (![pid, ppid, cpuTicks].every(Number.isFinite)) return undefined;
  return { pid, comm: text.slice(open + 1, close), ppid, cpuTicks };
}

/** CPU ticks of each `comm` child of `parent` now, by pid (Linux; empty elsewhere). */
export function childTicks(parent: number, comm = 'ffmpeg'): Map<number, number> {
  const out = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return out;
  }
  for (const pid of entries) {
    let stat: ProcStat | undefined;
    try {
      stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      continue; // it exited meanwhile
    }
    if (stat?.ppid === parent && stat.comm === comm) out.set(stat.pid, stat.cpuTicks);
  }
  return out;
}

/**
 * Ticks the children used between two snapshots: children present at both ends (the egresses do
 * not change during a window); one that started within it counts from 0, one that ended is lost.
 */
export function ticksBetween(start: Map<number, number>, end: Map<number, number>): number {
  let sum = 0;
  for (const [pid, ticks] of end) sum += ticks - (start.get(pid) ?? 0);
  return sum;
}

/** One measured window: cores used (CPU seconds per second) by the server and its ffmpeg children. */
export interface Window {
  serverCores: number;
  ffmpegCores: number;
}

export interface EgressCosts {
  /** Milli-cores per copied HLS stream (H264): the server, and its ffmpeg children (AAC audio). */
  copy_server_millicores: number;
  copy_ffmpeg_millicores: number;
  copy_total_millicores: number;
  /** Milli-cores per transcoded HLS stream (VP8 → H264): the server, and ffmpeg. */
  transcode_server_millicores: number;
  transcode_ffmpeg_millicores: number;
  transcode_total_millicores: number;
  /** Milli-cores per forwarded subscriber of the same VP8 publisher. */
  subscriber_millicores: number;
}

/**
 * Costs per unit from windows measured on one server: each loaded window minus the baseline
 * (the publishers alone), divided by how many streams or subscribers it added.
 */
export function egressCosts(
  w: { base: Window; subscribers: Window; copy: Window; transcode: Window },
  n: { subscribers: number; copies: number; transcodes: number },
): EgressCosts {
  const per = (cores: number, count: number) => Math.round((cores * 1000 * 100) / count) / 100;
  const server = (x: Window) => Math.max(0, x.serverCores - w.base.serverCores);
  const ffmpeg = (x: Window) => Math.max(0, x.ffmpegCores - w.base.ffmpegCores);
  const copyServer = per(server(w.copy), n.copies);
  const copyFfmpeg = per(ffmpeg(w.copy), n.copies);
  const transcodeServer = per(server(w.transcode), n.transcodes);
  const transcodeFfmpeg = per(ffmpeg(w.transcode), n.transcodes);
  return {
    copy_server_millicores: copyServer,
    copy_ffmpeg_millicores: copyFfmpeg,
    copy_total_millicores: Math.round((copyServer + copyFfmpeg) * 100) / 100,
    transcode_server_millicores: transcodeServer,
    transcode_ffmpeg_millicores: transcodeFfmpeg,
    transcode_total_millicores: Math.round((transcodeServer + transcodeFfmpeg) * 100) / 100,
    subscriber_millicores: per(server(w.subscribers), n.subscribers),
  };
}
