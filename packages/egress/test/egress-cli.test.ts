import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { adminCli, type Json } from '../../../test/cli/admin-cli-support.ts';
import { eventually, launchDemoBrowser } from '../../../test/sdk/demo-page.ts';
import type { TestServer } from '../../../test/support/server.ts';
import { hostRoom, publishDemo, startEgressServer } from './support/chromium-call.ts';

/**
 * The operator's egress commands (docs/admin.md: `bbmeet egress`, `start-egress`, `stop-egress`)
 * as a child process against a server with egress on: a recording of a Chromium publisher (the
 * demo page, VP8) is started by room code, listed, stopped, and its file served.
 */

const SECRET = 'egress-cli-secret-0123456789abcdefghij';

describe('bbmeet egress commands against a server with egress', { timeout: 120_000 }, () => {
  let server: TestServer;
  let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
  let context: BrowserContext;
  let roomId: string;
  let code: string;
  let publisherId: string;
  const { run, json } = adminCli(() => server.baseUrl, SECRET);

  before(async () => {
    server = await startEgressServer({ AUTH_IDENTITY_SECRET: SECRET });
    chromium = await launchDemoBrowser();
    const room = await hostRoom(server.baseUrl, 'egress-cli');
    roomId = String(room.roomId);
    code = room.code;
    context = await chromium.newContext();
    publisherId = (await publishDemo(context, server.baseUrl, { room: code, name: 'Pub', codec: 'VP8' }))
      .participantId;
  });

  after(async () => {
    await context?.close();
    await chromium?.close();
    await server?.close();
  });

  it('start-egress by room code, egress lists it active, stop-egress finishes the file and names its URL', async () => {
    // The page may not publish yet when it has joined: the server then answers 404 (bounded retry).
    const started = await eventually(
      () => run('start-egress', code, '--kind', 'recording', '--participant', publisherId, '--json'),
      (r) => !(r.code === 1 && /404/.test(r.stderr)),
      `participant ${publisherId} publishing`,
      15_000,
    ).then((r) => {
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as Json;
    });
    assert.deepEqual([started.kind, started.participantId], ['recording', publisherId]);
    assert.ok(['starting', 'active'].includes(started.state), started.state);
    await eventually(
      async () => (await json('egress', roomId)).find((e: Json) => e.egressId === started.egressId),
      (e) => e?.state === 'active',
      'the recording active',
    );
    const table = await run('egress', code);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID +KIND +STATE +PARTICIPANT +NODE +URL/);
    assert.match(table.stdout, new RegExp(`\\n${started.egressId} +recording +active +${publisherId} `));
    // A few seconds of media in the file.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const stopped = await run('stop-egress', code, started.egressId);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(
      stopped.stdout,
      new RegExp(`^Stopped recording egress ${started.egressId} of participant ${publisherId}: ended`),
    );
    const ended = (await json('egress', roomId)).find((e: Json) => e.egressId === started.egressId);
    assert.equal(ended.state, 'ended');
    assert.equal(ended.urls.length, 1);
    assert.ok(stopped.stdout.includes(ended.urls[0]), 'the file URL printed');
    const file = await fetch(ended.urls[0]);
    assert.equal(file.status, 200);
    assert.ok((await file.arrayBuffer()).byteLength > 10_000, 'seconds of media in the recording');
    const unknown = await run('stop-egress', roomId, 'no-such-egress');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /404/);
  });
});
