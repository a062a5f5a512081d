import { execFileSync } from 'node:child_process';
import { type Browser, launch, type Page } from 'puppeteer-core';

/** Debian's Firefox ESR (`firefox-esr`), or FIREFOX_PATH; undefined when neither is installed. */
export function findFirefox(): string | undefined {
  if (process.env.FIREFOX_PATH) return process.env.FIREFOX_PATH;
  for (const name of ['firefox-esr', 'firefox']) {
    try {
      const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (found) return found;
    } catch {
      // `command -v` exits non-zero when the name is not on PATH: try the next one.
    }
  }
  return undefined;
}

export interface Firefox {
  browser: Browser;
  /** A new tab: Firefox pages share the browser's profile (puppeteer's BiDi gives no per-context permissions). */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Firefox ESR, headless, driven over WebDriver BiDi, with a fake camera and microphone that need no
 * permission prompt, and host candidates on loopback that are neither filtered nor hidden behind mDNS.
 * It has VP8, VP9 and AV1 but no H264 (its OpenH264 plugin is fetched at run time, never here).
 */
export async function launchFirefox(): Promise<Firefox> {
  const executablePath = findFirefox();
  if (!executablePath) {
    throw new Error(
      "Firefox not found on PATH (firefox-esr or firefox; or set FIREFOX_PATH): run `bash scripts/test-all.sh`, which installs Debian's firefox-esr",
    );
  }
  const browser = await launch({
    browser: 'firefox',
    executablePath,
    headless: true,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      'media.peerconnection.ice.loopback': true,
      'media.peerconnection.ice.obfuscate_host_addresses': false,
      // An autojoin page has no user gesture: let its videos play with sound.
      'media.autoplay.default': 0,
      // No plugin download attempts (OpenH264) on machines without network.
      'media.gmp-manager.url': '',
      'media.gmp-gmpopenh264.enabled': false,
    },
  });
  return {
    browser,
    newPage: () => browser.newPage(),
    close: () => browser.close(),
  };
}
