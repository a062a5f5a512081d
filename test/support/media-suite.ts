import { launchChromium } from './browser.ts';
import { type RestCall, restClient } from './clients.ts';
import { createImpairedNetwork, type ImpairedNetwork, launchChromiumIn } from './impairment.ts';
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

/**
 * An impaired media suite: a network namespace whose link the test caps or makes lossy, the server
 * listening on every address (the namespace reaches it over its veth), a Chromium on loopback and
 * one inside the namespace with the base URL it must use.
 */
export async function startImpairedMediaSuite(): Promise<{
  net: ImpairedNetwork;
  server: TestServer;
  call: RestCall;
  local: Chromium;
  impaired: Chromium;
  impairedBaseUrl: string;
}> {
  // First the namespace: the server announces its veth address with the others.
  const net = await createImpairedNetwork();
  const server = await startTestServer({ APP_HOST: '0.0.0.0' }, { media: true });
  const impairedBaseUrl = `http://${net.hostIp}:${new URL(server.baseUrl).port}`;
  return {
    net,
    server,
    call: restClient(server.baseUrl),
    local: await launchChromium(),
    impaired: await launchChromiumIn(net, impairedBaseUrl),
    impairedBaseUrl,
  };
}

/** Closes what startImpairedMediaSuite opened, the namespace last. */
export async function stopImpairedMediaSuite(s: {
  net?: ImpairedNetwork | undefined;
  server?: TestServer | undefined;
  local?: Chromium | undefined;
  impaired?: Chromium | undefined;
}): Promise<void> {
  await s.impaired?.close();
  await s.local?.close();
  await s.server?.close();
  await s.net?.close();
}
