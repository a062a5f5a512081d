import { launchChromium } from './browser.ts';
import { type RestCall, restClient } from './clients.ts';
import { startTestServer, type TestServer } from './server.ts';

export type Chromium = Awaited<ReturnType<typeof launchChromium>>;

/** What a media suite shares: a server with media on a free UDP port, a REST client, one Chromium. */
export async function startMediaSuite(
  env: Record<string, string> = {},
): Promise<{ server: TestServer; call: RestCall; chromium: Chromium }> {
  const server = await startTestServer(env, { media: true });
  return { server, call: restClient(server.baseUrl), chromium: await launchChromium() };
}

/** Closes what startMediaSuite opened; either may be missing when the setup failed half-way. */
export async function stopMediaSuite(
  server: TestServer | undefined,
  chromium: Chromium | undefined,
): Promise<void> {
  await chromium?.close();
  await server?.close();
}
