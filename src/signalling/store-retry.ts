import type { Logger } from '../lib/logger.ts';
import { isStoreUnavailable } from '../store/store-errors.ts';

/** Waits between attempts: about 15 s in all, longer than a database restart or failover takes. */
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000];

/**
 * Runs a store write that must not be lost (a participant's leave: without it the row says the
 * participant is still in the room), again after a wait while the database is unavailable.
 * Other errors, and the last unavailable one, go to the caller.
 */
export async function retryWhileStoreUnavailable<T>(
  op: () => Promise<T>,
  log: Logger,
  delaysMs: readonly number[] = RETRY_DELAYS_MS,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      const delayMs = delaysMs[attempt];
      if (!isStoreUnavailable(err) || delayMs === undefined) throw err;
      log.debug({ attempt: attempt + 1, delayMs }, 'database unavailable: retrying the write');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
