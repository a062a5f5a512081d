/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { chatRoom } from '../../../test/cluster/chat-during-fault.ts';
import { eventually, launchDemoBrowser, screenshot } from '../../../test/sdk/demo-page.ts';
import { connectSocket, login, nextEvent, restClient } from '../../../test/support/clients.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { createEgress } from '../src/index.ts';
import { ffprobeJson } from '../src/testing/ffmpeg.ts';
import { hlsJournal, startHlsJournal } from './support/hls-journal.ts';

/**
 * A room's live HLS as one master playlist (issue 14, item 3): two Chromium publishers (the demo
 * page, H264, captured at two heights) in one room → a room HLS egress → its master playlist lists
 * both (a variant per participant) and is what the REST reply and `room.subscribe_hls_live_stream`
 * hand out; ffprobe finds every participant's programs in it; hls.js in a second Chromium plays it
 * through the viewer page, and switching to the other participant plays that participant's video;
 * the stage form lists one participant; the publisher the viewer watches leaving is dropped from
 * the master within a few seconds, and the viewer plays the other one again.
 */

const PART_SECONDS = 0.5;
/** "Within a few seconds": the leave reaches the SFU, the master is rewritten. */
const DROPPED_WITHIN_MS = 8000;
const HEIGHTS = [360, 180] as const;

/** A figure for the run's log (the in-process egress routes `console` to the server's logger). */
function note(text: string): void {
  process.stdout.write(`${text}\n`);
}

interface ViewerState {
  state: string;
  chosen: string | null;
  listed: string[];
  /** STABLE-VARIANT-ID of the level hls.js loads. */
  levelId: string | null;
  /** The participant whose fragment is on screen (the level of hls.js's FRAG_CHANGED). */
  playingId: string | null;
  currentTime: number;
  decodedFrames: number;
}

function viewerState(page: Page): Promise<ViewerState> {
  return page.evaluate(() => {
    const video = document.querySelector('video') as HTMLVideoElement;
    type Viewer = {
      hls: { currentLevel: number; levels: Array<{ attrs: Record<string, string> }> };
      room: { state(): { chosen: string | null; listed: string[] } };
    };
    const viewer = (window as unknown as { viewer?: Viewer }).viewer;
    const level = viewer ? viewer.hls.levels[viewer.hls.currentLevel] : undefined;
    const q = video.getVideoPlaybackQuality();
    return {
      state: document.body.dataset.state ?? '',
      chosen: viewer?.room.state().chosen ?? null,
      listed: viewer?.room.state().listed ?? [],
      levelId: level?.attrs['STABLE-VARIANT-ID'] ?? null,
      playingId: (window as unknown as { __playingId?: string | null }).__playingId ?? null,
      currentTime: video.currentTime,
      decodedFrames: q.totalVideoFrames - q.droppedVideoFrames,
    };
  });
}

/** The participant ids a room master lists (STABLE-VARIANT-ID), in order. */
async function listed(master: string): Promise<string[]> {
  const res = await fetch(master);
  if (res.status !== 200) return [];
  const ids = [...(await res.text()).matchAll(/STABLE-VARIANT-ID="([^"]+)"/g)].map((m) => m[1]!);
  return [...new Set(ids)];
}

/** The demo page in the call, publishing H264 camera and microphone captured at `height`. */
async function openPublisher(context: BrowserContext, baseUrl: string, code: string, height: number) {
  const page = await context.newPage();
  const query = new URLSearchParams({
    room: code,
    name: `pub-${height}`,
    autojoin: '1',
    codec: 'H264',
    res: String(height),
  });
  await page.goto(`${baseUrl}/?${query}`);
  await page.waitForSelector('body[data-state="joined"]', { timeout: 20_000 });
  const id = await page.evaluate(
    () =>
      (window as unknown as { bbmeet: { room: { localParticipant: { id: string } } } }).bbmeet.room
        .localParticipant.id,
  );
  return { page, id: String(id) };
}

describe('a room HLS: one master playlist, a participant per variant', { timeout: 300_000 }, () => {
  let server: TestServer;
  let browser: Awaited<ReturnType<typeof launchDemoBrowser>>;

  before(async () => {
    server = await startTestServer(
      { EGRESS_ENABLED: 'true', EGRESS_PART_SECONDS: String(PART_SECONDS) },
      { media: true, egress: createEgress },
    );
    browser = await launchDemoBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lists both publishers, ffprobe reads both, hls.js switches between them, a leaver is dropped', async () => {
    const host = await chatRoom(server.baseUrl, 'room-hls-e2e');
    const call = restClient(server.baseUrl);
    // A context per publisher: the one the viewer watches last is the one that leaves.
    const publishing = [await browser.newContext(), await browser.newContext()] as const;
    const viewing = await browser.newContext();
    const viewer = await viewing.newPage();
    try {
      const a = await openPublisher(publishing[0], server.baseUrl, host.code, HEIGHTS[0]);
      const b = await openPublisher(publishing[1], server.baseUrl, host.code, HEIGHTS[1]);
      const started = await call<{ egressId: string; urls: string[] }>(
        'POST',
        `/rooms/${host.roomId}/egress`,
        {
          token: host.token,
          body: { kind: 'hls' },
        },
      );
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const master = started.body.urls[0]!;
      assert.equal(master, `${server.baseUrl}/egress/${started.body.egressId}/master.m3u8`);

      const both = await eventually(
        () => listed(master),
        (ids) => ids.length === 2,
        'the room master listing both publishers',
      );
      assert.deepEqual([...both].sort(), [a.id, b.id].sort());
      const text = await (await fetch(master)).text();
      note(`room master playlist\n${text}`);
      for (const id of [a.id, b.id]) {
        assert.match(text, new RegExp(`GROUP-ID="${id}-audio-mp4a402"`), `${id}: its own AAC group`);
        assert.match(text, new RegExp(`\n${id}/video/index\\.m3u8\n`), `${id}: its video variant`);
      }
      // Each participant's own stream stays reachable, and is listed.
      const listing = await call<Array<{ egressId: string; urls: string[] }>>(
        'GET',
        `/rooms/${host.roomId}/egress`,
        {
          token: host.token,
        },
      );
      const urls = listing.body.find((e) => e.egressId === started.body.egressId)!.urls;
      for (const id of [a.id, b.id]) {
        const own = urls.find((u) => u.endsWith(`/${id}/master.m3u8`));
        assert.ok(own, `${id}'s master in ${urls.join(' ')}`);
        assert.equal((await fetch(own)).status, 200);
      }

      // A Waterbus client asking for a participant streamed only by the room egress gets the room master.
      const viewerUser = await login(call, 'room-hls-viewer');
      await call('GET', `/rooms/${host.code}`, { token: viewerUser.token });
      const joined = await call<{ participants: Array<{ id: number; userId: number }> }>(
        'POST',
        `/rooms/${host.roomId}/join`,
        { token: viewerUser.token, body: {} },
      );
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      const ownPid = String(joined.body.participants.find((p) => p.userId === viewerUser.id)!.id);
      const socket = await connectSocket(server.baseUrl, viewerUser.token);
      try {
        socket.emit('room.reconnect', { roomId: String(host.roomId), participantId: ownPid });
        const answer = nextEvent<{ hlsUrls: string[] }>(socket, 'room.subscribe_hls_live_stream', 5000);
        socket.emit('room.subscribe_hls_live_stream', {
          targetId: a.id,
          roomId: String(host.roomId),
          participantId: ownPid,
        });
        assert.deepEqual((await answer).hlsUrls, [master]);
      } finally {
        socket.close();
      }

      // ffmpeg maps each variant to a program, and reads complete segments only (not LL-HLS parts).
      for (const id of [a.id, b.id]) {
        const playlist = new URL(`${id}/video/index.m3u8`, master).toString();
        await eventually(
          async () => ((await (await fetch(playlist)).text()).match(/#EXTINF:/g) ?? []).length,
          (segments) => segments >= 2,
          `two complete segments of ${id}'s video`,
        );
      }
      const probed = (await ffprobeJson(['-show_programs', '-show_streams', master])) as {
        programs?: Array<{ streams?: Array<{ codec_type?: string }> }>;
        streams?: Array<{ codec_type?: string; width?: number; height?: number }>;
      };
      const programs = probed.programs ?? [];
      assert.ok(programs.length >= 2, `programs: ${programs.length}`);
      const videos = (probed.streams ?? []).filter((st) => st.codec_type === 'video');
      note(
        `ffprobe: ${programs.length} programs, videos ${videos.map((v) => `${v.width}x${v.height}`).join(' ')}`,
      );
      // Two variants per participant (its Opus and its AAC audio), each a program with video and audio.
      const variantCount = (text.match(/#EXT-X-STREAM-INF:/g) ?? []).length;
      assert.equal(variantCount, 4);
      assert.equal(programs.length, variantCount, 'a program per variant');
      for (const p of programs) {
        const types = (p.streams ?? []).map((st) => st.codec_type).sort();
        assert.deepEqual(types, ['audio', 'video'], "each program: its participant's video and audio");
      }

      // The viewer plays the first participant listed, then the other when asked.
      const errors: string[] = [];
      viewer.on('pageerror', (err) => errors.push(err.message));
      await viewer.goto(`${server.baseUrl}/egress/watch.html?hls=${encodeURIComponent(master)}`);
      // The fragment on screen (hls.js's FRAG_CHANGED), to tell whose video plays.
      await viewer.waitForFunction(() => 'viewer' in window);
      await viewer.evaluate(() => {
        type Hls = {
          levels: Array<{ attrs: Record<string, string> }>;
          on(event: string, listener: (e: string, data: { frag: { level: number } }) => void): void;
        };
        const hls = (window as unknown as { viewer: { hls: Hls } }).viewer.hls;
        hls.on('hlsFragChanged', (_e, data) => {
          const id = hls.levels[data.frag.level]?.attrs['STABLE-VARIANT-ID'] ?? null;
          (window as unknown as { __playingId: string | null }).__playingId = id;
        });
      });
      await startHlsJournal(viewer);
      await viewer.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
      await viewer.waitForSelector('#participants button[data-participant]', { timeout: 10_000 });
      const first = await eventually(
        () => viewerState(viewer),
        (s) => s.chosen !== null && s.levelId === s.chosen && s.playingId === s.chosen && s.decodedFrames > 0,
        'the viewer playing a participant',
      );
      assert.deepEqual(first.listed, both, 'the viewer lists both, in the order of the master');
      const other = both.find((id) => id !== first.chosen)!;
      await viewer.click(`#participants button[data-participant="${other}"]`);
      const switched = await eventually(
        () => viewerState(viewer),
        (s) =>
          s.chosen === other &&
          s.levelId === other &&
          s.playingId === other &&
          s.currentTime > first.currentTime + 1,
        `the viewer playing ${other}`,
        30_000,
      );
      const later = await eventually(
        () => viewerState(viewer),
        (s) => s.currentTime > switched.currentTime + 2 && s.decodedFrames > switched.decodedFrames + 30,
        `${other}'s video advancing`,
      );
      assert.equal(later.levelId, other, 'still pinned to the chosen participant');
      assert.equal(later.playingId, other, "the chosen participant's video on screen");
      note(`screenshot: ${await screenshot(viewer, 'room-hls-viewer.png')}`);
      note(
        `viewer: ${first.playingId}, then ${other} (${later.playingId}), ` +
          `${later.decodedFrames - switched.decodedFrames} frames in ${(later.currentTime - switched.currentTime).toFixed(1)} s`,
      );

      // The stage form: a room egress following one participant lists only that one.
      const stage = await call<{ egressId: string; urls: string[] }>('POST', `/rooms/${host.roomId}/egress`, {
        token: host.token,
        body: { kind: 'hls', stageId: Number(b.id) },
      });
      assert.equal(stage.status, 201, JSON.stringify(stage.body));
      await eventually(
        () => listed(stage.body.urls[0]!),
        (ids) => ids.length === 1 && ids[0] === b.id,
        'the stage master listing the stage participant',
      );
      const stopped = await call('DELETE', `/rooms/${host.roomId}/egress/${stage.body.egressId}`, {
        token: host.token,
      });
      assert.equal(stopped.status, 200);

      // The participant watched leaves: the master drops it within a few seconds, and the viewer
      // plays the first one again.
      const leftAt = Date.now();
      await publishing[other === a.id ? 0 : 1].close();
      await eventually(
        () => listed(master),
        (ids) => ids.length === 1 && ids[0] === first.chosen,
        `the master without ${other}`,
        DROPPED_WITHIN_MS,
      );
      const droppedMs = Date.now() - leftAt;
      note(`the master dropped the leaver ${droppedMs} ms after its page closed`);
      assert.ok(droppedMs <= DROPPED_WITHIN_MS);
      const back = await eventually(
        () => viewerState(viewer),
        (s) =>
          s.chosen === first.chosen &&
          s.levelId === first.chosen &&
          s.listed.join() === first.chosen &&
          s.playingId === first.chosen,
        `the viewer back on ${first.chosen}`,
        30_000,
      );
      await eventually(
        () => viewerState(viewer),
        (s) => s.currentTime > back.currentTime + 1,
        `${first.chosen}'s video advancing again`,
      );
      assert.deepEqual(errors, []);
    } catch (err) {
      // What hls.js did, to tell why playback did not do what was waited for.
      if (err instanceof Error) err.message += `\nviewer journal:\n${await hlsJournal(viewer)}`;
      throw err;
    } finally {
      await viewing.close();
      for (const context of publishing) await context.close().catch(() => undefined);
    }
  });
});
