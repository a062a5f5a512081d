import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Finding 9 (HTTP hygiene): the pages still work under the Content-Security-Policy. Chromium
 * reports every blocked script, style, image or connection as a console error naming the policy.
 */

function collectViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content[ -]Security[ -]Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  page.on('pageerror', (err) => violations.push(err.message));
  return violations;
}

describe('http hygiene (finding 9): pages under the CSP in Chromium', () => {
  let server: TestServer;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  before(async () => {
    server = await startTestServer({}, { media: true });
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await server?.close();
  });

  it('/docs: Swagger UI renders the API with no CSP violation', async () => {
    const page = await (await chromium.newContext()).newPage();
    const violations = collectViolations(page);
    await page.goto(`${server.baseUrl}/docs`);
    await page.waitForSelector('.swagger-ui .opblock', { timeout: 20_000 });
    assert.deepEqual(violations, []);
  });

  it('/: the demo page joins a call (REST, socket.io, SDK bundle) with no CSP violation', async () => {
    const page = await (await chromium.newContext()).newPage();
    const violations = collectViolations(page);
    await page.goto(`${server.baseUrl}/?room=csp-room&name=Csp&autojoin=1&res=180`);
    await page.waitForSelector('body[data-state="joined"]', { timeout: 30_000 });
    assert.deepEqual(violations, []);
  });
});
