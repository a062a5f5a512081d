import { format } from 'node:util';
import type { Logger } from '../../../../src/lib/logger.ts';

/**
 * @moq/net and @moq/qmux print to the console as they work ("announce: …", "publish ok: …", and
 * "fatal error running connection … Connection closed" whenever a viewer closes its tab). The
 * server's stdout is one JSON log record per line, which those lines would break for log
 * collectors; and they are not errors of ours. While egress runs, console output goes to the
 * logger instead, at debug (warn for console.warn/error), marked `source: 'console'`. The server
 * itself writes nothing to the console once it runs (its own output is the logger's).
 *
 * Returns the function that puts the console back.
 */
export function routeConsoleToLogger(logger: Logger): () => void {
  const log = logger.child({ source: 'console' });
  const saved = {
    log: console.log,
    info: console.info,
    debug: console.debug,
    warn: console.warn,
    error: console.error,
  };
  const quiet = (...args: unknown[]) => log.debug({ text: format(...args) }, 'library console output');
  const loud = (...args: unknown[]) => log.warn({ text: format(...args) }, 'library console output');
  console.log = quiet;
  console.info = quiet;
  console.debug = quiet;
  console.warn = loud;
  console.error = loud;
  return () => Object.assign(console, saved);
}
