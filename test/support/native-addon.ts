import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeUnavailableReason } from '../../src/transport/srtp/native-addon.ts';

/** native/build.mjs --strict: this machine cannot build the addon (no compiler, no headers, not Linux). */
const CANNOT_BUILD = 2;

/**
 * Builds the native addon when it is missing or older than its source, for the tests of the
 * native path. Returns why those tests cannot run here (BBMEET_NATIVE=0, or a machine that cannot
 * build it; printed), or undefined to run them; throws when a build that should work failed.
 */
export function prepareNativeAddon(): string | undefined {
  if (process.env.BBMEET_NATIVE === '0') return 'disabled by BBMEET_NATIVE=0';
  const script = fileURLToPath(new URL('../../native/build.mjs', import.meta.url));
  const build = spawnSync(process.execPath, [script, '--strict', '--if-stale'], { encoding: 'utf8' });
  if (build.status === CANNOT_BUILD) {
    const reason = `native addon cannot be built on this machine: ${build.stderr.trim()}`;
    process.stderr.write(`${reason}\n`);
    return reason;
  }
  if (build.status !== 0) throw new Error(`native addon build failed:\n${build.stderr}${build.stdout}`);
  const unavailable = nativeUnavailableReason();
  if (unavailable) throw new Error(`native addon built but not usable: ${unavailable}`);
  return undefined;
}
