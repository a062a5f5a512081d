import type { ChildProcess } from 'node:child_process';

/**
 * Ends a server a test started, by its own process handle: `signal` (SIGTERM, or the server's
 * fast-shutdown signal), then SIGKILL if it has not exited after `timeoutMs`.
 */
export async function stopChild(
  child: ChildProcess,
  options: { signal?: NodeJS.Signals; timeoutMs?: number } = {},
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(options.signal ?? 'SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 5000);
  await exited;
  clearTimeout(timer);
}
