import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { Logger } from '../../../../src/lib/logger.ts';
import { routeConsoleToLogger } from './console-bridge.ts';

test("the MoQ libraries' console lines go to the logger, not to stdout, until restored", () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line)) },
  ) as unknown as Logger;
  const original = console.log;
  const restore = routeConsoleToLogger(logger);
  try {
    console.log('publish ok: %s', 'room/1');
    console.error(new Error('Connection closed: 0'));
  } finally {
    restore();
  }
  assert.equal(console.log, original, 'restored');
  assert.deepEqual(
    lines.map((l) => [l.level, l.source, String(l.text).split('\n')[0]]),
    [
      [20, 'console', 'publish ok: room/1'],
      [40, 'console', 'Error: Connection closed: 0'],
    ],
  );
});
