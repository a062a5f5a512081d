import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AudioFrame } from '../media/frame.ts';
import { HlsHttp } from './hls-http.ts';
import { HlsTrack } from './hls-track.ts';

function opusFrame(i: number): AudioFrame {
  const data = Buffer.alloc(40, i & 0xff);
  return {
    kind: 'audio',
    codec: 'opus',
    data,
    ptsUs: i * 20_000,
    samples: 960,
    sampleRate: 48000,
    channels: 2,
  };
}

/** A raw request, so paths like `/../x` reach the handler as sent. */
function get(
  port: number,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('latin1'),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Until the server holds `count` waiting requests (bounded: 5 s of event-loop turns). */
async function untilWaiting(track: HlsTrack, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (track.waiters.pending < count) {
    assert.ok(Date.now() < deadline, 'the request never waited');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('HlsHttp', () => {
  let server: Server;
  let port: number;
  let root: string;
  let track: HlsTrack;
  let next = 0;
  const writeFrames = (count: number) => {
    for (let end = next + count; next < end; next++) track.write(opusFrame(next));
  };

  before(async () => {
    const parent = await mkdtemp(join(tmpdir(), 'hls-http-'));
    root = join(parent, 'egress');
    await mkdir(join(root, 'video'), { recursive: true });
    await writeFile(join(parent, 'secret.txt'), 'secret');
    await writeFile(join(root, 'master.m3u8'), '#EXTM3U\n');
    await mkdir(join(root, 'p-1'));
    await writeFile(join(root, 'p-1', 'master.m3u8'), '#EXTM3U\n');
    await writeFile(join(root, 'video', 'init.mp4'), 'init');
    await writeFile(join(root, 'video', 'seg-0.m4s'), 'segment');
    track = new HlsTrack(
      { id: 2, kind: 'audio', timescale: 48000, config: { codec: 'opus', sampleRate: 48000, channels: 2 } },
      {
        dir: join(root, 'audio-opus'),
        segmentSeconds: 1,
        partSeconds: 0.2,
        windowSegments: 5,
        wallClockAtZeroMs: 0,
        followsCuts: false,
        onError: (err) => assert.fail(err),
      },
    );
    const http = new HlsHttp({
      root,
      live: (rel) =>
        rel.startsWith('audio-opus/') ? { waiters: track.waiters, targetDurationS: 1 } : undefined,
    });
    server = createServer((req, res) =>
      http.handle(req, res, new URL(req.url!, 'http://x').pathname.slice(1)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await track.end();
    await new Promise((resolve) => server.close(resolve));
  });

  it('serves playlists, init segments and segments with their content types and CORS', async () => {
    const master = await get(port, '/master.m3u8');
    assert.equal(master.status, 200);
    assert.equal(master.headers['content-type'], 'application/vnd.apple.mpegurl');
    assert.equal(master.headers['access-control-allow-origin'], '*');
    // A room's master (at the egress's root) changes as participants come and go: revalidated.
    assert.equal(master.headers['cache-control'], 'no-cache');
    const own = await get(port, '/p-1/master.m3u8');
    assert.equal(own.headers['cache-control'], 'public, max-age=2');
    const init = await get(port, '/video/init.mp4');
    assert.equal(init.headers['content-type'], 'video/mp4');
    const segment = await get(port, '/video/seg-0.m4s');
    assert.equal(segment.headers['content-type'], 'video/iso.segment');
    assert.match(String(segment.headers['cache-control']), /max-age=3600/);
    assert.equal(segment.body, 'segment');
    writeFrames(1);
    await track.flushed();
    const audioInit = await get(port, '/audio-opus/init.mp4');
    assert.equal(audioInit.headers['content-type'], 'audio/mp4');
    assert.equal((await get(port, '/video/missing.m4s')).status, 404);
  });

  it('refuses directory traversal', async () => {
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/video/..%2f..%2fsecret.txt',
      '/.%00/x',
      '/%E0%A4%A',
    ]) {
      const res = await get(port, path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /secret/);
    }
  });

  it('holds a blocking playlist reload until the part exists', async () => {
    writeFrames(20);
    await track.flushed();
    const { msn, parts } = track.waiters.current;
    const pending = get(port, `/audio-opus/index.m3u8?_HLS_msn=${msn}&_HLS_part=${parts}`);
    await untilWaiting(track, 1);
    writeFrames(15);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.match(res.body, new RegExp(`URI="part-${msn}\\.${parts}\\.m4s"`));
    assert.match(String(res.headers['cache-control']), /max-age=6/);
    const live = await get(port, '/audio-opus/index.m3u8');
    assert.equal(live.headers['cache-control'], 'no-cache');
  });

  it('holds a request for the hinted part until it is written', async () => {
    await track.flushed();
    const { msn, parts } = track.waiters.current;
    const pending = get(port, `/audio-opus/part-${msn}.${parts}.m4s`);
    await untilWaiting(track, 1);
    writeFrames(15);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'audio/mp4');
    assert.match(res.body, /moof/);
  });

  it('answers 400 to a reload more than two segments ahead', async () => {
    const { msn } = track.waiters.current;
    assert.equal((await get(port, `/audio-opus/index.m3u8?_HLS_msn=${msn + 3}`)).status, 400);
    assert.equal((await get(port, '/audio-opus/index.m3u8?_HLS_part=1')).status, 400);
  });
});
