import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page as FirefoxPage } from 'puppeteer-core';
import { type Firefox, launchFirefox } from '../support/firefox.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  eventually,
  launchDemoBrowser,
  openDemo,
  openDemoInFirefox,
  seesVideoOf,
  tiles,
} from './demo-page.ts';

/**
 * The room codec policy with real browsers: a Firefox (no H264 here) is in the room when a
 * Chromium camera preferring H264 publishes. With `auto` (the default) the server answers that
 * camera in VP8 and Firefox plays it; with `publisher` it is answered in H264 and Firefox is told
 * it cannot decode it.
 */

let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
let firefox: Firefox;

/** The video codecs the SFU receives in its one room. */
async function publishedVideoCodecs(server: TestServer): Promise<string[]> {
  const { rooms } = await server.sfu.dump();
  assert.equal(rooms.length, 1);
  const room = await server.sfu.inspectRoom(rooms[0]!.roomId);
  return room.participants.flatMap((p) => p.tracks.filter((t) => t.kind === 'video').map((t) => t.codec));
}

/**
 * Fred in Firefox first, then Ann in Chromium preferring H264 (her offer lists the others after
 * it); `backupCodec` false: her SDK sends no VP8 backup (demo-backup-codec.test.ts has one used).
 */
async function foxThenH264(
  server: TestServer,
  room: string,
  run: (fred: FirefoxPage) => Promise<void>,
  backupCodec = true,
) {
  const context = await chromium.newContext();
  let fred: FirefoxPage | undefined;
  try {
    fred = await openDemoInFirefox(firefox, server.baseUrl, { room, name: 'Fred' });
    const ann = await openDemo(context, server.baseUrl, {
      room,
      name: 'Ann',
      codec: 'H264',
      backupCodec,
    });
    await seesVideoOf(ann, ['Fred']);
    await run(fred);
  } finally {
    await fred?.close();
    await context.close();
  }
}

describe('room codec policy: Firefox in the room, a Chromium camera preferring H264', {
  timeout: 120_000,
}, () => {
  before(async () => {
    chromium = await launchDemoBrowser();
    firefox = await launchFirefox();
  });

  after(async () => {
    await firefox?.close();
    await chromium?.close();
  });

  it('auto (default): the camera is answered in VP8 and Firefox plays it, nothing unsupported', async () => {
    const server = await startTestServer({}, { media: true });
    try {
      await foxThenH264(server, 'policy-auto', async (fred) => {
        await seesVideoOf(fred, ['Ann']);
        assert.deepEqual(
          (await tiles(fred)).map((t) => t.unsupported),
          ['', ''],
          'Firefox is told of nothing it cannot decode',
        );
        assert.deepEqual(await publishedVideoCodecs(server), ['video/VP8', 'video/VP8']);
      });
    } finally {
      await server.close();
    }
  });

  it('ROOM_CODEC_POLICY=publisher, no backup codec: the camera is answered in H264, the publisher’s first, and Firefox is told', async () => {
    const server = await startTestServer({ ROOM_CODEC_POLICY: 'publisher' }, { media: true });
    try {
      await foxThenH264(
        server,
        'policy-publisher',
        async (fred) => {
          const annTile = await eventually(
            () => tiles(fred).then((all) => all.find((t) => t.name === 'Ann')),
            (t) => t !== undefined && t.unsupported !== '',
            "the reason on Ann's tile in Firefox",
          );
          assert.match(annTile!.unsupported, /cannot play Ann's video: it does not decode H264/);
          assert.deepEqual((await publishedVideoCodecs(server)).sort(), ['video/H264', 'video/VP8']);
        },
        false,
      );
    } finally {
      await server.close();
    }
  });
});
