/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { EgressInfo } from '../../../src/protocol/egress.ts';
import { type ChatRoom, chatRoom } from '../../../test/cluster/chat-during-fault.ts';
import { eventually, launchDemoBrowser, openDemo } from '../../../test/sdk/demo-page.ts';
import { restClient } from '../../../test/support/clients.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { createEgress } from '../src/index.ts';
import { buildWatchPages, waitAdvancing } from './moq-player.ts';

/**
 * MoQ egress end to end (issue 14, item 5): a Chromium publisher on the demo page, a MoQ egress
 * of its tracks started by the room's host over REST, and the MoQ watch page in a second
 * Chromium showing the publisher's video with frames advancing; the publisher leaving ends the
 * egress with `participant_left`.
 */

type EgressReply = EgressInfo & { urls: string[] };

let server: TestServer;
let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;

function participantIdOf(page: Page): Promise<string> {
  return page.evaluate(() => {
    const bbmeet = (window as unknown as { bbmeet: { room: { localParticipant: { id: string } } } }).bbmeet;
    return String(bbmeet.room.localParticipant.id);
  });
}

/** Starts the egress once the SFU knows the participant as a publisher (its media is up). */
async function startMoq(host: ChatRoom, participantId: string): Promise<EgressReply> {
  const call = restClient(server.baseUrl);
  const reply = await eventually(
    () =>
      call<EgressReply>('POST', `/rooms/${host.roomId}/egress`, {
        token: host.token,
        body: { kind: 'moq', participantId },
      }),
    // 404 while the publisher's tracks are not ready yet; anything else is the answer.
    (r) => r.status !== 404,
    'the MoQ egress to start',
  );
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body;
}

async function egressOf(host: ChatRoom, egressId: string): Promise<EgressReply | undefined> {
  const list = await restClient(server.baseUrl)<EgressReply[]>('GET', `/rooms/${host.roomId}/egress`, {
    token: host.token,
  });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  return list.body.find((e) => e.egressId === egressId);
}

describe('MoQ egress of a Chromium publisher', { timeout: 240_000 }, () => {
  before(async () => {
    await buildWatchPages();
    server = await startTestServer({ EGRESS_ENABLED: 'true' }, { media: true, egress: createEgress });
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    await chromium?.close();
    await server?.close();
  });

  for (const codec of ['VP8', 'H264'] as const) {
    it(`${codec}: the watch page shows the publisher's video advancing; leaving ends the egress`, async () => {
      const host = await chatRoom(server.baseUrl, `moq-${codec.toLowerCase()}`);
      const publisherContext = await chromium.newContext();
      const viewerContext = await chromium.newContext();
      try {
        const publisher = await openDemo(publisherContext, server.baseUrl, {
          room: host.code,
          name: 'Alice',
          codec,
        });
        const participantId = await participantIdOf(publisher);
        const started = await startMoq(host, participantId);
        assert.equal(started.kind, 'moq');
        assert.equal(started.moqPath, `${host.roomId}/${participantId}`);

        const viewer = await viewerContext.newPage();
        const errors: string[] = [];
        viewer.on('pageerror', (err) => errors.push(err.message));
        await viewer.goto(`${server.baseUrl}/egress/moq-watch.html?path=${started.moqPath}`);
        const first = await waitAdvancing(viewer, { frames: 0, digest: '' });
        // Still advancing a while later: a live stream, not a group replayed once.
        await waitAdvancing(viewer, first);
        assert.equal((await egressOf(host, started.egressId))?.state, 'active');
        assert.deepEqual(errors, []);

        await publisher.evaluate(async () => {
          const bbmeet = (window as unknown as { bbmeet: { room: { leave(): Promise<void> } } }).bbmeet;
          await bbmeet.room.leave();
        });
        const ended = await eventually(
          () => egressOf(host, started.egressId),
          (e) => e?.state === 'ended' || e?.state === 'failed',
          'the egress to end after the publisher left',
        );
        assert.equal(ended?.state, 'ended');
        assert.equal(ended?.reason, 'participant_left');
      } finally {
        await publisherContext.close();
        await viewerContext.close();
      }
    });
  }
});
