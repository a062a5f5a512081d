/** What became of a queued upload. */
export type UploadOutcome = 'done' | 'dropped' | 'failed';

export interface UploadJob {
  key: string;
  /** Performs the upload; a rejection counts as 'failed' (the uploader already logged it). */
  run: () => Promise<unknown>;
  /** Checked when the job is about to start: true drops it instead (its file left the window). */
  isStale?: () => boolean;
  /** Whether the queue may drop it to stay within `maxQueued` (segments may, playlists may not). */
  droppable: boolean;
}

export interface UploadQueueOptions {
  /** Uploads running at once. */
  concurrency: number;
  /** Jobs waiting beyond this: the oldest droppable one is dropped. */
  maxQueued: number;
  onDropped: (job: UploadJob) => void;
}

interface Entry {
  job: UploadJob;
  settle: (outcome: UploadOutcome) => void;
}

/**
 * A bounded queue of uploads: at most `concurrency` run at once, in the order they were pushed,
 * and waiting ones are dropped when stale or when the queue overflows (a live stream must not fall
 * further and further behind an unreachable or slow bucket).
 */
export class UploadQueue {
  readonly #options: UploadQueueOptions;
  readonly #waiting: Entry[] = [];
  #running = 0;
  #idle: PromiseWithResolvers<void> | null = null;

  constructor(options: UploadQueueOptions) {
    this.#options = options;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  get running(): number {
    return this.#running;
  }

  /** Queues an upload; the promise never rejects and tells what became of it. */
  push(job: UploadJob): Promise<UploadOutcome> {
    const { promise, resolve } = Promise.withResolvers<UploadOutcome>();
    this.#waiting.push({ job, settle: resolve });
    this.#shed();
    this.#pump();
    return promise;
  }

  /** Drops a waiting job of this key (not one already running); true if there was one. */
  drop(key: string): boolean {
    const index = this.#waiting.findIndex((entry) => entry.job.key === key);
    if (index < 0) return false;
    this.#dropAt(index);
    return true;
  }

  /** Resolves once nothing waits or runs. */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#waiting.length === 0) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }

  #shed(): void {
    while (this.#waiting.length > this.#options.maxQueued) {
      const index = this.#waiting.findIndex((entry) => entry.job.droppable);
      if (index < 0) return;
      this.#dropAt(index);
    }
  }

  #dropAt(index: number): void {
    const [entry] = this.#waiting.splice(index, 1);
    if (!entry) return;
    this.#options.onDropped(entry.job);
    entry.settle('dropped');
  }

  #pump(): void {
    while (this.#running < this.#options.concurrency) {
      const entry = this.#waiting.shift();
      if (!entry) break;
      if (entry.job.isStale?.()) {
        this.#options.onDropped(entry.job);
        entry.settle('dropped');
        continue;
      }
      this.#running++;
      // run() failures are outcomes, not errors: the uploader counted and logged them.
      entry.job.run().then(
        () => this.#finish(entry, 'done'),
        () => this.#finish(entry, 'failed'),
      );
    }
    if (this.#running === 0 && this.#waiting.length === 0 && this.#idle) {
      this.#idle.resolve();
      this.#idle = null;
    }
  }

  #finish(entry: Entry, outcome: UploadOutcome): void {
    this.#running--;
    entry.settle(outcome);
    this.#pump();
  }
}
