/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { eventually, launchDemoBrowser } from '../../../test/sdk/demo-page.ts';
import { ChromiumParticipant } from '../../../test/support/chromium-participant.ts';
import { login, restClient, roomWithParticipants } from '../../../test/support/clients.ts';
import type { TestServer } from '../../../test/support/server.ts';
import { ffprobeJson } from '../src/testing/ffmpeg.ts';
import { decodedSizes, videoPackets } from './ffmpeg-probe.ts';
import { type EgressReply, egressApi, startEgressServer } from './support/chromium-call.ts';

/**
 * A VP9 SVC publisher (issue 14, item 2): Chromium sends one encoding in L3T3_KEY, every spatial
 * layer in one RTP stream (at 640x360 two layers: 320x180 and 640x360). The egress joins each
 * picture's layer frames into one superframe, so a recording holds one block per picture that
 * libvpx (Chromium's VP9 decoder, and ffmpeg's with `-c:v libvpx-vp9`) decodes into one picture at
 * the full size; and the HLS transcoder's H264 has that size too.
 */

const CAPTURE = { width: 640, height: 360 };
const FULL = `${CAPTURE.width}x${CAPTURE.height}`;
const RECORD_MS = 5000;

/** The size a file's first video stream declares (its header, without decoding: -nofind_stream_info). */
async function declaredSize(file: string): Promise<string> {
  const probed = await ffprobeJson([
    '-nofind_stream_info',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,width,height',
    file,
  ]);
  const s = probed.streams?.[0] ?? {};
  return `${s.codec_name} ${s.width}x${s.height}`;
}

/** The HLS video playlist's init segment and complete segments joined into one fMP4 file. */
async function downloadVideo(master: string, dir: string): Promise<string> {
  const uri = (text: string) => text.split('\n').find((l) => l && !l.startsWith('#'));
  const masterText = await eventually(
    async () => (await fetch(master)).text(),
    (t) => t.startsWith('#EXTM3U') && uri(t) !== undefined,
    'the master playlist',
    20_000,
  );
  const variant = new URL(uri(masterText)!, master);
  const text = await eventually(
    async () => (await fetch(variant)).text(),
    (t) => t.split('\n').filter((l) => l && !l.startsWith('#')).length >= 2,
    'two complete HLS segments',
    20_000,
  );
  const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1];
  assert.ok(init, `no init segment in ${text}`);
  const parts: Buffer[] = [];
  for (const uri of [init, ...text.split('\n').filter((l) => l && !l.startsWith('#'))]) {
    const res = await fetch(new URL(uri, variant));
    assert.equal(res.status, 200, `${uri}: ${res.status}`);
    parts.push(Buffer.from(await res.arrayBuffer()));
  }
  const file = path.join(dir, 'video.mp4');
  await writeFile(file, Buffer.concat(parts));
  return file;
}

describe('a VP9 SVC publisher egressed at its top spatial layer', { timeout: 240_000 }, () => {
  let server: TestServer;
  let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
  let context: Awaited<ReturnType<typeof chromium.newContext>>;
  let alice: ChromiumParticipant;
  let api: ReturnType<typeof egressApi>;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-vp9-svc-'));
    server = await startEgressServer();
    chromium = await launchDemoBrowser();
    context = await chromium.newContext();
    const call = restClient(server.baseUrl);
    const host = await login(call, 'svc-host', 'Host');
    const { roomId, code, pids } = await roomWithParticipants(call, [host], 'svc');
    alice = await ChromiumParticipant.join({
      baseUrl: server.baseUrl,
      token: host.token,
      context,
      roomId,
      participantId: pids[0]!,
      codec: 'VP9',
      scalabilityMode: 'L3T3_KEY',
      width: CAPTURE.width,
      autoSubscribe: false,
    });
    api = egressApi(server.baseUrl, { roomId: Number(roomId), code, token: host.token });
  });

  after(async () => {
    await alice?.close();
    await context?.close();
    await chromium?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function run(kind: 'recording' | 'hls', during: (started: EgressReply) => Promise<void>) {
    const started = await api.start({ kind, participantId: alice.participantId });
    await api.waitState(started.egressId, 'active');
    await during(started);
    const stopped = await api.stop(started.egressId);
    assert.equal(stopped.state, 'ended', `reason: ${stopped.reason}`);
    return stopped;
  }

  it('recording: a WebM of the full size, one block per picture, each decoding (libvpx) at the full size', async (t) => {
    const stopped = await run('recording', () => delay(RECORD_MS));
    const file = path.join(server.dataDir, 'egress', stopped.files[0]!);
    const blocks = await videoPackets(file);
    const libvpx = await decodedSizes(file, 'libvpx-vp9');
    const native = await decodedSizes(file);
    const sizes = (list: string[]) => [...new Set(list)].join(' ');
    t.diagnostic(
      `SVC recording: ${blocks} blocks in ${RECORD_MS} ms; libvpx ${libvpx.length} pictures (${sizes(libvpx)});` +
        ` ffmpeg's own decoder ${native.length} (${sizes(native)}), the layers shown one by one`,
    );
    assert.equal(await declaredSize(file), `vp9 ${FULL}`);
    // At most 30 pictures a second (the camera's rate): a picture's layers are one block, not one each.
    assert.ok(blocks >= 10 && blocks <= (30 * (RECORD_MS + 2000)) / 1000, `${blocks} blocks`);
    assert.equal(libvpx.length, blocks, 'one decoded picture per block');
    assert.equal(sizes(libvpx), FULL, 'every picture at the top layer size');
    // The stream was SVC: ffmpeg's own decoder shows the lower layer too.
    assert.ok(
      native.some((s) => s !== FULL),
      `ffmpeg's own decoder saw ${sizes(native)}`,
    );
  });

  it('HLS: the transcoded H264 segments have the full size', async (t) => {
    let file = '';
    await run('hls', async (started) => {
      file = await downloadVideo(started.urls[0]!, dir);
    });
    const probed = await ffprobeJson([
      '-count_frames',
      '-show_entries',
      'stream=codec_name,width,height,nb_read_frames',
      file,
    ]);
    const video = probed.streams?.[0] ?? {};
    t.diagnostic(
      `SVC HLS: ${video.codec_name} ${video.width}x${video.height}, ${video.nb_read_frames} frames`,
    );
    assert.equal(`${video.codec_name} ${video.width}x${video.height}`, `h264 ${FULL}`);
    assert.ok(Number(video.nb_read_frames) > 0);
    assert.deepEqual([...new Set(await decodedSizes(file))], [FULL]);
  });
});
