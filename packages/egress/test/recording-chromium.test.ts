import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { launchDemoBrowser } from '../../../test/sdk/demo-page.ts';
import { API_KEY, freeUdpPort, type TestServer } from '../../../test/support/server.ts';
import { spawnServer } from '../../../test/support/spawned-server.ts';
import { probe } from './ffmpeg-probe.ts';
import { egressApi, hostRoom, publishDemo, startEgressServer } from './support/chromium-call.ts';
import { decodeErrors, streamSpans } from './support/recording-checks.ts';

/**
 * Recordings of a real publisher (issue 14, "what it must show"): Chromium's demo page publishes
 * its fake camera and microphone, the room's host records that participant over REST for 20 s
 * from the moment the egress is active (its first keyframe written), and the file is what a player needs: 20 s ± 1 s long, audio and video both there and within
 * 100 ms of each other, every frame decoding without an error. And a recording outlives its
 * server: the real server process killed (SIGKILL) leaves a WebM that plays up to the kill,
 * stopped (SIGTERM) exits 0 with the WebM finished (duration and index).
 */

const RECORD_MS = 20_000;

let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;

before(async () => {
  chromium = await launchDemoBrowser();
});

after(async () => {
  await chromium?.close();
});

describe('recordings of a Chromium publisher', { timeout: 300_000 }, () => {
  let server: TestServer;

  before(async () => {
    server = await startEgressServer();
  });

  after(async () => {
    await server?.close();
  });

  for (const { codec, ext, video } of [
    { codec: 'VP8', ext: '.webm', video: 'vp8' },
    { codec: 'H264', ext: '.mp4', video: 'h264' },
  ] as const) {
    it(`${codec} → ${ext}: recorded 20 s, the file lasts 20 s ± 1 s, A/V within 100 ms, every frame decodes`, async (t) => {
      const room = await hostRoom(server.baseUrl, `rec-${video}`);
      const context = await chromium.newContext();
      try {
        const { participantId } = await publishDemo(context, server.baseUrl, {
          room: room.code,
          name: 'Pub',
          codec,
        });
        const api = egressApi(server.baseUrl, room);
        const requestedAt = performance.now();
        const started = await api.start({ kind: 'recording', participantId });
        // The file begins at the first keyframe written ("active"), not at the request: a
        // publisher just joined may take a second to send its top layer and a keyframe.
        await api.waitState(started.egressId, 'active');
        const activeAfterMs = Math.round(performance.now() - requestedAt);
        await delay(RECORD_MS);
        const stopped = await api.stop(started.egressId);
        assert.equal(stopped.state, 'ended', `reason: ${stopped.reason}`);
        assert.equal(stopped.files.length, 1, JSON.stringify(stopped.files));
        const file = path.join(server.dataDir, 'egress', stopped.files[0]!);
        assert.equal(path.extname(file), ext);

        const probed = await probe(file);
        const duration = Number(probed.format.duration);
        assert.ok(
          Math.abs(duration - RECORD_MS / 1000) <= 1,
          `duration ${duration} s (active ${activeAfterMs} ms after the request)`,
        );
        const spans = await streamSpans(file);
        assert.equal(spans.video.codec, video);
        assert.equal(spans.audio.codec, 'opus');
        const startGap = Math.abs(spans.video.start - spans.audio.start);
        const endGap = Math.abs(spans.video.end - spans.audio.end);
        assert.ok(startGap <= 0.1, `audio and video start apart: ${JSON.stringify(spans)}`);
        assert.ok(endGap <= 0.1, `audio and video end apart: ${JSON.stringify(spans)}`);
        t.diagnostic(
          `active ${activeAfterMs} ms after the request; duration ${duration} s, spans ${JSON.stringify(spans)}`,
        );
        assert.equal(await decodeErrors(file), '', 'every frame decodes');
        // A camera at 20 fps or more: hundreds of frames in 20 s.
        assert.ok(spans.video.packets > 300, `video frames ${spans.video.packets}`);

        // The reply's URL serves the same file.
        const served = await fetch(stopped.urls[0]!);
        assert.equal(served.status, 200);
        assert.equal((await served.arrayBuffer()).byteLength, (await stat(file)).size);
      } finally {
        await context.close();
      }
    });
  }
});

/** WebM's Cues element ID: the index a cleanly ended recording appends (mux/webm-ids.ts). */
const CUES_ID = Buffer.from([0x1c, 0x53, 0xbb, 0x6b]);
/** How long the spawned server records before it is killed or stopped. */
const BEFORE_SIGNAL_MS = 8_000;

/**
 * The real server (`bin/bbmeet.mjs start` with EGRESS_ENABLED, a process of its own) recording a
 * Chromium publisher (VP8 → WebM) for 8 s, then sent `signal`: resolves with the recording's path
 * (under a temporary EGRESS_DIR the caller removes), how long it was recorded and how the server
 * exited.
 */
async function recordThenSignal(
  egressDir: string,
  signal: 'SIGKILL' | 'SIGTERM',
): Promise<{ file: string; recordedMs: number; exit: { code: number | null; signal: string | null } }> {
  const udpPort = await freeUdpPort();
  const server = await spawnServer({
    EGRESS_ENABLED: 'true',
    EGRESS_DIR: egressDir,
    MEDIA_ENABLED: 'true',
    MEDIA_WORKERS: '1',
    PORT_MIN_UDP: String(udpPort),
    PORT_MAX_UDP: String(udpPort),
    CLIENT_SECRET_KEY: API_KEY,
  });
  const context = await chromium.newContext();
  try {
    const room = await hostRoom(server.baseUrl, `rec-${signal.toLowerCase()}`);
    const { participantId } = await publishDemo(context, server.baseUrl, { room: room.code, name: 'Pub' });
    const api = egressApi(server.baseUrl, room);
    const started = await api.start({ kind: 'recording', participantId });
    const startedAt = performance.now();
    const active = await api.waitState(started.egressId, 'active');
    assert.equal(active.files.length, 1, JSON.stringify(active));
    await delay(BEFORE_SIGNAL_MS - (performance.now() - startedAt));
    const exited = once(server.child, 'exit') as Promise<[number | null, string | null]>;
    const recordedMs = performance.now() - startedAt;
    process.kill(server.child.pid!, signal);
    const [code, exitSignal] = await exited;
    return { file: path.join(egressDir, active.files[0]!), recordedMs, exit: { code, signal: exitSignal } };
  } finally {
    await context.close();
    await server.close();
  }
}

describe('a recording when the real server process ends', { timeout: 180_000 }, () => {
  let egressDir: string;

  before(async () => {
    egressDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-egress-'));
  });

  after(async () => {
    if (egressDir) await rm(egressDir, { recursive: true, force: true });
  });

  it('SIGKILL after 8 s: the WebM decodes (a cut last frame aside) and has at least 6 s of video', async (t) => {
    const { file, exit } = await recordThenSignal(egressDir, 'SIGKILL');
    assert.equal(exit.signal, 'SIGKILL');
    const errors = (await decodeErrors(file)).split('\n');
    const other = errors.filter((l) => l !== '' && !l.includes('File ended prematurely'));
    assert.deepEqual(other, [], 'nothing wrong but the cut');
    const { video, audio } = await streamSpans(file);
    t.diagnostic(`video ${video.start}–${video.end} s (${video.packets} frames), audio to ${audio.end} s`);
    assert.ok(video.end - video.start >= 6, `video ${video.start}–${video.end} s`);
  });

  it('SIGTERM after 8 s: the server exits 0 and the WebM is finished (Duration, Cues) at what was recorded ± 1 s', async (t) => {
    const { file, recordedMs, exit } = await recordThenSignal(egressDir, 'SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.equal(await decodeErrors(file), '', 'every frame decodes');
    const duration = Number((await probe(file)).format.duration);
    t.diagnostic(`recorded ${recordedMs.toFixed(0)} ms, duration ${duration} s`);
    assert.ok(
      Math.abs(duration - recordedMs / 1000) <= 1,
      `duration ${duration} s, recorded ${recordedMs} ms`,
    );
    assert.ok((await readFile(file)).includes(CUES_ID), 'the index (Cues) is written');
  });
});
