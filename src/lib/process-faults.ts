import type { Logger } from './logger.ts';

/**
 * The last line of defence: a promise rejection nobody handled is logged (`unhandled rejection`,
 * with the error) and counted instead of ending the process, so that one forgotten `.catch` in a
 * dependency (a Redis client rejecting while Redis is down) does not take every call of the
 * instance with it. Each one is still a bug: the count is exported as a metric and the test
 * harness fails a test whose server logged one. An uncaught exception leaves the process in an
 * unknown state: it is logged and the process exits with status 1, as Node's default would.
 */
export const UNHANDLED_REJECTION_MESSAGE = 'unhandled rejection';
export const UNCAUGHT_EXCEPTION_MESSAGE = 'uncaught exception';

let unhandledRejections = 0;
let installed: { remove(): void } | undefined;

/** How many unhandled rejections this process has logged since it started. */
export function unhandledRejectionCount(): number {
  return unhandledRejections;
}

/** Installs the process-wide handlers once (later calls return the same handle). */
export function installProcessFaultHandlers(logger: Logger): { remove(): void } {
  if (installed) return installed;
  const onRejection = (reason: unknown) => {
    unhandledRejections++;
    logger.error({ err: reason, count: unhandledRejections }, UNHANDLED_REJECTION_MESSAGE);
  };
  const onException = (err: Error) => {
    logger.fatal({ err }, UNCAUGHT_EXCEPTION_MESSAGE);
    logger.flush();
    process.exit(1);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  installed = {
    remove() {
      process.removeListener('unhandledRejection', onRejection);
      process.removeListener('uncaughtException', onException);
      installed = undefined;
    },
  };
  return installed;
}
