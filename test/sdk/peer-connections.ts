/// <reference lib="dom" />
import type { BrowserContext, Page } from 'playwright-core';
import {
  type DemoOptions,
  launchDemoBrowser,
  openDemo,
  recordPeerConnections,
  seesVideoOf,
} from './demo-page.ts';

/**
 * Demo pages that record their RTCPeerConnections in window.__pcs (recordPeerConnections), each
 * in a browser context of its own, and what those connections say: the candidates of their
 * selected pairs, the descriptions the server sent.
 */

type DemoBrowser = Awaited<ReturnType<typeof launchDemoBrowser>>;

/**
 * Opens demo pages in recording contexts, by default in a demo browser of its own (`launch`), and
 * closes those contexts (then that browser) at the end of a test file.
 */
export class RecordingPages {
  readonly #contexts: BrowserContext[] = [];
  #browser: DemoBrowser | undefined;

  /** Launches the demo browser pages open in unless told another. */
  async launch(): Promise<void> {
    this.#browser = await launchDemoBrowser();
  }

  /** The demo page with `o` at `baseUrl`, in a new context of `browser`. */
  async open(
    baseUrl: string,
    o: DemoOptions,
    browser: { newContext(): Promise<BrowserContext> } | undefined = this.#browser,
  ): Promise<Page> {
    if (!browser) throw new Error('RecordingPages: no browser (launch() first)');
    const context = await browser.newContext();
    await context.addInitScript(recordPeerConnections);
    this.#contexts.push(context);
    return openDemo(context, baseUrl, o);
  }

  /**
   * A call in `room`: a page for each of `names`, opened in that order, then each seeing the
   * others' video.
   */
  async openCall<const Names extends readonly string[]>(
    baseUrl: string,
    room: string,
    names: Names,
  ): Promise<{ -readonly [K in keyof Names]: Page }> {
    const pages: Page[] = [];
    for (const name of names) pages.push(await this.open(baseUrl, { room, name }));
    for (const [i, page] of pages.entries())
      await seesVideoOf(
        page,
        names.filter((_, j) => j !== i),
      );
    return pages as { -readonly [K in keyof Names]: Page };
  }

  async close(): Promise<void> {
    for (const context of this.#contexts) await context.close().catch(() => undefined);
    await this.#browser?.close();
  }
}

/** A candidate's stats as getStats reports them (protocol udp or tcp, tcpType of a TCP one). */
export interface CandidateStats {
  protocol?: unknown;
  address?: unknown;
  tcpType?: unknown;
}

/** The local and remote candidates of each connected peer connection's selected (nominated, succeeded) pair. */
export function selectedPairs(
  page: Page,
): Promise<Array<{ local?: CandidateStats; remote?: CandidateStats }>> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const out: Array<{ local?: CandidateStats; remote?: CandidateStats }> = [];
    for (const pc of pcs) {
      if (pc.connectionState !== 'connected') continue;
      const stats = [...(await pc.getStats()).values()] as Array<Record<string, unknown>>;
      const byId = new Map(stats.map((s) => [s.id, s]));
      const pair = stats.find(
        (s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded',
      );
      if (!pair) continue;
      const candidate = (id: unknown): CandidateStats | undefined => {
        const s = byId.get(id);
        return s && { protocol: s.protocol, address: s.address, tcpType: s.tcpType };
      };
      out.push({ local: candidate(pair.localCandidateId), remote: candidate(pair.remoteCandidateId) });
    }
    return out;
  });
}

/** The remote description (the server's offer or answer) of each of the page's peer connections. */
export function remoteSdps(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.map((pc) => pc.remoteDescription?.sdp ?? ''),
  );
}
