import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Logger } from '../../../../src/lib/logger.ts';

/** How an ffmpeg child ended: `failed` is false only for a clean exit after `stop()`. */
export interface FfmpegExit {
  failed: boolean;
  /** 'stopped', or the failure: "ffmpeg exited with code 1: <last stderr line>", "killed by SIGKILL". */
  reason: string;
}

export interface FfmpegProcessOptions {
  /** Arguments after the binary (input from `pipe:0`, output to `pipe:1`). */
  args: string[];
  /** Called with each chunk ffmpeg writes on stdout, in order. */
  onStdout: (chunk: Buffer) => void;
  /** Called once when the child is gone (after `stop()` too), or could not start. */
  onExit: (exit: FfmpegExit) => void;
  logger: Logger;
  /** Default 'ffmpeg' (looked up on PATH). */
  binary?: string;
  /**
   * Bytes queued on stdin from which dependent chunks are dropped until the queue drained (default
   * 1 MiB: a few seconds of video; far above one keyframe, whose burst alone must not drop frames).
   */
  congestionBytes?: number;
  /**
   * Bytes queued on stdin beyond which even independent chunks are dropped (default 4 MiB): with a
   * stalled ffmpeg memory stays bounded.
   */
  maxQueuedBytes?: number;
  /** After `stop()` closed stdin, SIGKILL when ffmpeg has not exited by then (default 5000 ms). */
  stopTimeoutMs?: number;
}

const STDERR_LINES = 20;
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * One ffmpeg child fed over stdin and read from stdout.
 *
 * Lifecycle: spawned by the constructor → `write()` while running → `stop()` closes stdin (ffmpeg
 * finishes its output and exits; SIGKILL after `stopTimeoutMs`) → `onExit` once. A crash, a kill or
 * a missing binary also ends in `onExit`, with `failed: true` and the reason.
 *
 * Backpressure: once `congestionBytes` wait on stdin (until it drains), `write(chunk, false)` (a chunk that depends on earlier
 * ones, e.g. a video delta frame) is dropped and counted, and every later dependent chunk too until
 * an independent one (`write(chunk, true)`, a keyframe) is accepted, so ffmpeg never sees a frame
 * whose reference is missing and memory never grows with a stalled child.
 */
export class FfmpegProcess {
  readonly pid: number | undefined;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly options: FfmpegProcessOptions;
  private readonly stderrLines: string[] = [];
  private stderrPartial = '';
  private waitingIndependent = false;
  private congested = false;
  private droppedChunks = 0;
  private lastCpuSeconds = 0;
  private lastCpuSampleMs = 0;
  private stopping = false;
  private exited = false;
  private readonly exitPromise: Promise<FfmpegExit>;
  private resolveExit!: (exit: FfmpegExit) => void;
  private killTimer: NodeJS.Timeout | null = null;

  constructor(options: FfmpegProcessOptions) {
    this.options = options;
    this.exitPromise = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
    const binary = options.binary ?? 'ffmpeg';
    this.child = spawn(binary, ['-hide_banner', '-loglevel', 'warning', ...options.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.pid = this.child.pid;
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.sampleCpu();
      options.onStdout(chunk);
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => this.keepStderr(text));
    // Why: writing after the child died raises EPIPE here; the exit handler reports the cause.
    this.child.stdin.on('drain', () => {
      this.congested = false;
    });
    this.child.stdin.on('error', (err) => options.logger.debug({ err }, 'ffmpeg stdin error'));
    this.child.on('error', (err: NodeJS.ErrnoException) => this.onSpawnError(err, binary));
    this.child.on('close', (code, signal) => this.onClose(code, signal));
  }

  /** Chunks dropped because ffmpeg did not keep up. */
  get dropped(): number {
    return this.droppedChunks;
  }

  /** Bytes written to stdin that ffmpeg has not read yet. */
  get queuedBytes(): number {
    return this.child.stdin.writableLength;
  }

  /** The last stderr lines (at most 20), for the failure reason and logs. */
  stderrTail(): string[] {
    return [...this.stderrLines];
  }

  /** Queues a chunk on ffmpeg's stdin; false when it was dropped (see the class comment). */
  write(chunk: Buffer, independent: boolean): boolean {
    if (this.stopping || this.exited) return false;
    const stdin = this.child.stdin;
    const queued = stdin.writableLength;
    if (queued >= (this.options.congestionBytes ?? 1024 * 1024)) this.congested = true;
    const overCap = queued >= (this.options.maxQueuedBytes ?? 4 * 1024 * 1024);
    // Why: a dependent chunk after a dropped one would only produce decoding errors in ffmpeg.
    const drop = independent ? overCap : this.congested || this.waitingIndependent;
    if (drop) {
      this.droppedChunks++;
      if (!independent) this.waitingIndependent = true;
      return false;
    }
    if (independent) this.waitingIndependent = false;
    stdin.write(chunk);
    return true;
  }

  /**
   * CPU time (user + system) the child used so far, from /proc/<pid>/stat (Linux; 0 elsewhere).
   * Once it exited: the last value sampled while it ran (its output is sampled every 200 ms).
   */
  cpuSeconds(): number {
    if (this.pid === undefined || this.exited) return this.lastCpuSeconds;
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces), from field 3 (state) on.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (Number.isFinite(ticks)) this.lastCpuSeconds = ticks / CLOCK_TICKS_PER_SECOND;
    } catch {
      // The child is gone (or no procfs): keep the last value read.
    }
    return this.lastCpuSeconds;
  }

  private sampleCpu(): void {
    const now = performance.now();
    if (now - this.lastCpuSampleMs < 200) return;
    this.lastCpuSampleMs = now;
    this.cpuSeconds();
  }

  /** Ends the input (ffmpeg then flushes and exits); SIGKILL after the deadline. */
  stop(): Promise<FfmpegExit> {
    if (!this.stopping && !this.exited) {
      this.stopping = true;
      this.cpuSeconds();
      this.child.stdin.end();
      this.killTimer = setTimeout(() => this.kill(), this.options.stopTimeoutMs ?? 5000);
    }
    return this.exitPromise;
  }

  /** Kills the child at once (the exit is reported as a failure unless `stop()` was called). */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private keepStderr(text: string): void {
    const lines = (this.stderrPartial + text).split('\n');
    this.stderrPartial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      this.stderrLines.push(line.trim());
      if (this.stderrLines.length > STDERR_LINES) this.stderrLines.shift();
    }
  }

  private onSpawnError(err: NodeJS.ErrnoException, binary: string): void {
    const reason =
      err.code === 'ENOENT'
        ? `${binary} not found on PATH: install it (apt-get install ffmpeg, or npm run setup:egress)`
        : `ffmpeg could not start: ${err.message}`;
    this.finish({ failed: true, reason });
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stderrPartial.trim() !== '') this.keepStderr('\n');
    this.finish(this.exitOf(code, signal));
  }

  private exitOf(code: number | null, signal: NodeJS.Signals | null): FfmpegExit {
    if (signal !== null) return { failed: true, reason: `ffmpeg killed by ${signal}` };
    const last = this.stderrLines.at(-1);
    if (code !== 0) {
      return { failed: true, reason: `ffmpeg exited with code ${code}${last ? `: ${last}` : ''}` };
    }
    // Why: ffmpeg exiting on its own before stop() means it gave up on its input.
    if (!this.stopping) return { failed: true, reason: `ffmpeg exited early${last ? `: ${last}` : ''}` };
    return { failed: false, reason: 'stopped' };
  }

  private finish(exit: FfmpegExit): void {
    if (this.exited) return;
    this.exited = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    if (exit.failed) this.options.logger.warn({ reason: exit.reason, pid: this.pid }, 'ffmpeg failed');
    this.resolveExit(exit);
    this.options.onExit(exit);
  }
}
