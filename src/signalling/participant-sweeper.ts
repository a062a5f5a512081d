import type { Logger } from '../lib/logger.ts';
import { isStoreUnavailable } from '../store/store-errors.ts';
import { toTimestamp } from '../store/timestamps.ts';
import type { Store } from '../store/types.ts';

/**
 * A row that no socket has taken this long after its join is purged (at least this, or the
 * reconnect grace when longer): clients publish right after joining, so such rows are joins whose
 * client never came.
 */
export const MIN_ATTACH_WAIT_MS = 10_000;

/**
 * Purges participant rows that hold nobody: inactive rows (dropped connections) older than the
 * reconnect grace, and rows that no socket ever took. The second rule reads only the row
 * (`attached_at`, set by whichever signalling instance took the participant), so in a cluster no
 * instance purges a participant that another one holds.
 */
export async function sweepParticipants(
  store: Store,
  options: { reconnectGraceMs: number; nowMs: number; log: Logger },
): Promise<void> {
  const { reconnectGraceMs, nowMs, log } = options;
  try {
    const inactiveBefore = toTimestamp(new Date(nowMs - reconnectGraceMs));
    const removed = await store.participants.deleteInactiveBefore(inactiveBefore);
    if (removed > 0) log.debug({ removed }, 'removed participants that did not reconnect');
    const joinedBefore = toTimestamp(new Date(nowMs - Math.max(reconnectGraceMs, MIN_ATTACH_WAIT_MS)));
    const unattached = await store.participants.deleteNeverAttachedBefore(joinedBefore);
    if (unattached > 0) log.debug({ removed: unattached }, 'removed participants that never connected');
  } catch (err) {
    // Why: a database outage is logged once by the store; the next sweep catches up.
    if (isStoreUnavailable(err)) log.debug({ failure: err.failure }, 'participant sweep skipped');
    else log.warn({ err }, 'participant sweep failed');
  }
}
