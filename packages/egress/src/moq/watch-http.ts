import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Logger } from '../../../../src/lib/logger.ts';

/** The page and its bundle (`npm --prefix packages/egress run build` writes dist/moq-watch.js). */
const FILES: Record<string, { file: string; type: string }> = {
  '/egress/moq-watch.html': {
    file: path.join(import.meta.dirname, 'watch.html'),
    type: 'text/html; charset=utf-8',
  },
  '/egress/moq-watch.js': {
    file: path.join(import.meta.dirname, '../../dist/moq-watch.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

const BUILD_COMMAND = 'npm --prefix packages/egress run build';

/**
 * Serves the MoQ watch page under `/egress/moq-watch.html` (`?path=<roomId>/<participantId>`,
 * optional `?url=` of the MoQ endpoint) and its bundle; false: not one of these paths. The
 * HTTP layer adds CORS and calls it for GET/HEAD requests under `/egress/`.
 */
export function serveWatchPage(req: IncomingMessage, res: ServerResponse, logger: Logger): boolean {
  const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
  const entry = FILES[pathname];
  if (!entry) return false;
  readFile(entry.file).then(
    (body) => {
      res.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
    (err: NodeJS.ErrnoException) => {
      // A missing bundle means the egress build step was skipped: say which command makes it.
      logger.warn({ err, file: entry.file, command: BUILD_COMMAND }, 'moq watch page file missing');
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`MoQ watch page not built: run ${BUILD_COMMAND}\n`);
    },
  );
  return true;
}
