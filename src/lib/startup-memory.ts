import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread } from 'node:worker_threads';

/** V8's gc() with the options of its gc extension (Node's --expose-gc). */
type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

let mainGc: Gc | undefined;
let flagSet = false;

/**
 * Start-up (loading and compiling the modules, the DTLS certificate, the schemas) grows each
 * thread's young generation to its maximum (≈12-15 MB per V8 heap), and an idle server never
 * collects again, so it keeps those pages: ≈40 MB of a server's idle RSS with two media workers.
 * One memory-reducing full GC per thread once it is ready (V8's "last resort" collection, which
 * shrinks the young generation and compacts the old one) gives them back. Under load V8 sizes the
 * young generation as usual again; nothing else changes.
 *
 * V8 hands out gc() only to contexts created while its --expose-gc flag is set, and its flags are
 * the process's: only the main thread touches them. Call this in the main thread before any media
 * worker starts; the workers started until `releaseStartupMemory()` runs in the main thread have
 * gc() in their global scope (a worker restarted later has not, and skips its collection).
 */
export function prepareStartupMemoryRelease(): void {
  if (!isMainThread || mainGc) return;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    mainGc = exposed as Gc;
    return;
  }
  setFlagsFromString('--expose-gc');
  flagSet = true;
  mainGc = runInNewContext('gc') as Gc;
}

/**
 * The collection, in this thread, once it is ready (a few tens of ms); in the main thread it also
 * clears the flag again, so that no later context has a gc global. Without gc() it does nothing.
 */
export function releaseStartupMemory(): void {
  const gc = isMainThread ? mainGc : (globalThis as { gc?: unknown }).gc;
  if (isMainThread && flagSet) {
    setFlagsFromString('--no-expose-gc');
    flagSet = false;
  }
  if (typeof gc === 'function') (gc as Gc)({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
