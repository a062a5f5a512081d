/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { BrowserContext, Page } from 'playwright-core';
import {
  events,
  framesAdvancingAt,
  peerConnectionTrace,
  record,
  tracePeerConnections,
} from '../../../test/cluster/call-pages.ts';
import { type ChatRoom, chatRoom } from '../../../test/cluster/chat-during-fault.ts';
import { freeTcpPort, startCluster, type TestCluster } from '../../../test/cluster/cluster.ts';
import { eventually, launchDemoBrowser, seesVideoOf } from '../../../test/sdk/demo-page.ts';
import { API_KEY } from '../../../test/support/server.ts';
import { probe } from './ffmpeg-probe.ts';

/**
 * Egress in cluster mode (issue 14): two `bbmeet sfu` nodes with egress on (each serving its own
 * `/egress/` on EGRESS_HTTP_PORT, EGRESS_PUBLIC_URL naming it), two `bbmeet signalling` instances,
 * real Redis and PostgreSQL. A Chromium publisher (H264, copied) joins through instance 1; the
 * room's host starts egresses through instance 2's REST: they run on the node hosting the room and
 * are served from that node's own port. Killing that node (SIGKILL) ends its egresses: the list
 * answers the room's new node, which has none, and the call comes back there.
 */

const run = promisify(execFile);
/** A playlist must answer within this after the start (the issue asks 4 s; the cluster shares 2 cores). */
const PLAYLIST_BOUND_MS = 8_000;

type EgressView = {
  egressId: string;
  kind: string;
  state: string;
  nodeId: string;
  baseUrl: string | null;
  participantId: string | null;
  urls: string[];
  reason: string | null;
};

let cluster: TestCluster;
let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
let redis: Redis;
let workDir: string;
const contexts: BrowserContext[] = [];
/** Each SFU node's egress HTTP port, by node id. */
const egressPorts = new Map<string, number>();

async function openPublisher(url: string, room: ChatRoom, name: string): Promise<Page> {
  const context = await chromium.newContext();
  contexts.push(context);
  // A failover that does not come back names each connection's states in its error.
  await tracePeerConnections(context);
  const page = await context.newPage();
  // H264 without simulcast: copied into CMAF without a transcoder, the cheapest stream on 2 cores.
  const query = new URLSearchParams({
    room: room.code,
    name,
    autojoin: '1',
    res: '180',
    codec: 'H264',
    simulcast: '0',
  });
  await page.goto(`${url}/?${query}`);
  await page.waitForSelector('body[data-state="joined"]', { timeout: 20_000 });
  return page;
}

function localId(page: Page): Promise<string> {
  return page.evaluate(() =>
    String(
      (window as unknown as { bbmeet: { room: { localParticipant: { id: string } } } }).bbmeet.room
        .localParticipant.id,
    ),
  );
}

/**
 * `room.subscribe_hls_live_stream` from a page's SDK room (its signalling instance); rejects with
 * the SDK's error, whose `code` is the server's (an Error rebuilt from its message and code).
 */
function subscribeHls(page: Page, target: string): Promise<string[]> {
  return page
    .evaluate(async (id) => {
      type SdkRoom = { subscribeHlsLiveStream(id: string): Promise<string[]> };
      const room = (window as unknown as { bbmeet: { room: SdkRoom } }).bbmeet.room;
      try {
        return { urls: await room.subscribeHlsLiveStream(id), code: '', message: '' };
      } catch (err) {
        return { urls: null, code: (err as { code?: string }).code ?? '', message: String(err) };
      }
    }, target)
    .then((r) => {
      if (r.urls) return r.urls;
      throw Object.assign(new Error(r.message), { code: r.code });
    });
}

/** The room's egress route on a signalling instance, as the host calls it. */
async function egressCall(
  baseUrl: string,
  room: ChatRoom,
  method: 'GET' | 'POST' | 'DELETE',
  suffix = '',
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}/busapi/v3/rooms/${room.roomId}/egress${suffix}`, {
    method,
    headers: {
      'x-api-key': API_KEY,
      authorization: `Bearer ${room.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function startEgress(baseUrl: string, room: ChatRoom, kind: string, participantId: string) {
  const res = await egressCall(baseUrl, room, 'POST', '', { kind, participantId });
  assert.equal(res.status, 201, `start ${kind}: ${JSON.stringify(res.body)}`);
  return res.body as EgressView;
}

/** The node's own egress root, as the test configured it. */
function nodeRoot(nodeId: string): string {
  return `http://127.0.0.1:${egressPorts.get(nodeId)}/egress/`;
}

/** Polls `url` until it answers 200 (bounded); resolves with its body and the time it took. */
async function firstOk(url: string, boundMs: number): Promise<{ text: string; ms: number }> {
  const startedAt = Date.now();
  const last = await eventually(
    () =>
      fetch(url, { signal: AbortSignal.timeout(5000) }).then(
        async (r) => ({ status: r.status, text: await r.text() }),
        (err: Error) => ({ status: 0, text: err.message }),
      ),
    (r) => r.status === 200,
    `${url} answering 200`,
    boundMs,
  );
  return { text: last.text, ms: Date.now() - startedAt };
}

/** The first URI of a playlist (a master's first variant), resolved against it. */
function firstUri(playlist: string, base: string): string {
  const line = playlist.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
  assert.ok(line, `a URI in the playlist:\n${playlist}`);
  return new URL(line.trim(), base).toString();
}

/** The video media playlist once it lists at least `count` segments. */
async function videoPlaylist(masterUrl: string, count: number): Promise<string> {
  const master = await firstOk(masterUrl, PLAYLIST_BOUND_MS);
  const videoUrl = firstUri(master.text, masterUrl);
  await eventually(
    () => fetch(videoUrl).then((r) => r.text()),
    (text) => text.split('\n').filter((l) => l.startsWith('#EXTINF')).length >= count,
    `${count} segments in ${videoUrl}`,
    20_000,
  );
  return videoUrl;
}

/**
 * For a failure message: what every role process logged about Alice or the egress, and the pages'
 * connection steps, since 30 s before `sinceMs` (an egress of a participant ends when its
 * publisher leaves the SFU).
 */
async function whyEnded(sinceMs: number, ids: string[], pages: [Page, Page]): Promise<string> {
  const processes = [...cluster.sfus, ...cluster.signallings].map((r) => r.process);
  const lines = processes
    .flatMap((p) => p.logs.map((l) => ({ ...l, from: p.name })))
    .filter((l) => l.time >= sinceMs - 30_000 && ids.some((id) => JSON.stringify(l).includes(id)))
    .sort((a, b) => a.time - b.time)
    .slice(-30)
    .map((l) => JSON.stringify(l));
  const traces = await Promise.all(
    pages.map((p) => peerConnectionTrace(p, sinceMs - 30_000).catch((err: unknown) => String(err))),
  );
  return `log lines: ${lines.join(' | ') || '(none)'}; Alice's connections: ${traces[0]}; Bob's: ${traces[1]}`;
}

describe('egress in cluster mode: two SFU nodes with egress, two signalling instances', {
  timeout: 300_000,
}, () => {
  let room: ChatRoom;
  let alice: Page;
  let bob: Page;
  let aliceId: string;
  let hostNode: string;
  let hls: EgressView;

  before(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-cluster-egress-'));
    cluster = await startCluster({
      sfuCount: 2,
      signallingCount: 2,
      sfuEnv: async ({ nodeId, dataDir }) => {
        const port = await freeTcpPort();
        egressPorts.set(nodeId, port);
        return {
          EGRESS_ENABLED: 'true',
          EGRESS_HTTP_PORT: String(port),
          EGRESS_PUBLIC_URL: `http://127.0.0.1:${port}/egress/`,
          EGRESS_DIR: path.join(dataDir, `egress-${nodeId}`),
        };
      },
    });
    redis = new Redis(cluster.redis.url);
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await chromium?.close();
    redis?.disconnect();
    await cluster?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  it('an HLS egress started through instance 2 runs on the node hosting the room and is served from its own port; instance 1 lists it; both instances answer its absolute URL', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    room = await chatRoom(one.url, 'egress-cluster');
    alice = await openPublisher(one.url, room, 'Alice');
    bob = await openPublisher(two.url, room, 'Bob');
    await seesVideoOf(bob, ['Alice']);
    await seesVideoOf(alice, ['Bob']);
    aliceId = await localId(alice);
    hostNode = (await redis.get(`bbmeet:room:${room.roomId}`)) ?? '';
    assert.ok(egressPorts.has(hostNode), `room hosted by a known node (${hostNode})`);

    const startedAt = Date.now();
    hls = await startEgress(two.url, room, 'hls', aliceId);
    assert.equal(hls.nodeId, hostNode, 'the egress runs on the node hosting the room');
    assert.equal(hls.baseUrl, nodeRoot(hostNode));
    assert.equal(hls.urls.length, 1);
    const masterUrl = hls.urls[0] ?? '';
    assert.ok(masterUrl.startsWith(nodeRoot(hostNode)), `playlist on the node's own port: ${masterUrl}`);
    const master = await firstOk(masterUrl, PLAYLIST_BOUND_MS);
    const playlistMs = Date.now() - startedAt;
    assert.match(master.text, /#EXT-X-STREAM-INF:.*CODECS="avc1\./);

    // Segments that decode: ffmpeg reads the live playlist from its first segment, 3 s of it.
    const videoUrl = await videoPlaylist(masterUrl, 2);
    const decoded = await run(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-v',
        'error',
        '-live_start_index',
        '0',
        '-i',
        videoUrl,
        '-t',
        '3',
        // The demuxer's time base: frames of a WebRTC camera rounded to the 1/25 s ffmpeg guesses
        // collide in the null muxer ("non monotonically increasing dts"), a fault of the check.
        '-enc_time_base:v',
        '-1',
        '-f',
        'null',
        '-',
      ],
      { timeout: 30_000 },
    );
    assert.equal(decoded.stderr.trim(), '', `ffmpeg decodes the segments without errors`);

    const listed = await egressCall(one.url, room, 'GET');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const mine = (listed.body as EgressView[]).find((e) => e.egressId === hls.egressId);
    assert.ok(mine, `instance 1 lists the egress: ${JSON.stringify(listed.body)}`);
    assert.equal(mine.nodeId, hostNode);
    assert.deepEqual(mine.urls, [masterUrl]);
    if (!['starting', 'active'].includes(mine.state))
      assert.fail(
        `the egress is not running: ${JSON.stringify(mine)}; ${await whyEnded(startedAt, [aliceId, hls.egressId], [alice, bob])}`,
      );

    // room.subscribe_hls_live_stream through instance 1 (Alice's page) and instance 2 (Bob's).
    assert.deepEqual(await subscribeHls(alice, aliceId), [masterUrl], 'through instance 1');
    assert.deepEqual(await subscribeHls(bob, aliceId), [masterUrl], 'through instance 2');
    console.log(
      `cluster HLS egress on ${hostNode}: master playlist answered ${playlistMs} ms after the start`,
    );
  });

  it('a recording started and stopped through instance 2 leaves a file on the hosting node that ffprobe reads', async () => {
    const [, two] = cluster.signallings;
    assert.ok(two && hls, 'the HLS test ran first');
    const rec = await startEgress(two.url, room, 'recording', aliceId);
    assert.equal(rec.nodeId, hostNode);
    // Long enough for a few keyframes (Chromium sends one every few seconds at most).
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const stopped = await egressCall(two.url, room, 'DELETE', `/${rec.egressId}`);
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    const view = stopped.body as EgressView;
    assert.equal(view.state, 'ended');
    assert.equal(view.urls.length, 1, `one file: ${JSON.stringify(view.urls)}`);
    const fileUrl = view.urls[0] ?? '';
    assert.ok(fileUrl.startsWith(nodeRoot(hostNode)), `file on the node's own port: ${fileUrl}`);
    const res = await fetch(fileUrl);
    assert.equal(res.status, 200);
    const file = path.join(workDir, `recording${path.extname(new URL(fileUrl).pathname)}`);
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    const probed = await probe(file);
    const video = probed.streams.find((s) => s.codec_type === 'video');
    assert.equal(video?.codec_name, 'h264', JSON.stringify(probed));
    const duration = Number(probed.format.duration);
    assert.ok(duration >= 2 && duration <= 7, `duration ${duration} s of a 5 s recording`);
    console.log(`cluster recording: ${fileUrl}, ${probed.format.format_name}, ${duration} s`);
  });

  it('kill -9 of the node hosting the room ends its egress: the list answers the new node without it, the call comes back there, and a new egress runs on it', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two && hls, 'the HLS test ran first');
    const host = cluster.sfus.find((s) => s.nodeId === hostNode);
    const other = cluster.sfus.find((s) => s.nodeId !== hostNode);
    assert.ok(host && other);
    await record(alice);
    await record(bob);
    const killedAt = Date.now();
    await host.process.kill('SIGKILL');

    // How fast the call comes back is test/cluster/multi-node.test.ts's bound; here only that it
    // does, with room for a loaded machine.
    const restoredAt = await Promise.all([
      framesAdvancingAt(alice, 'Bob', killedAt, 60_000),
      framesAdvancingAt(bob, 'Alice', killedAt, 60_000),
    ]);
    for (const page of [alice, bob]) {
      const list = await events(page);
      assert.ok(
        list.some((e) => e.type === 'reconnected'),
        `reconnected: ${JSON.stringify(list)}`,
      );
    }
    assert.equal(await redis.get(`bbmeet:room:${room.roomId}`), other.nodeId, 'the room moved');

    // Each instance answers the room's new node, which runs no egress (until told, 503 at most).
    const refusals = new Set<number>();
    for (const instance of [one, two]) {
      const listed = await eventually(
        () => egressCall(instance.url, room, 'GET'),
        (r) => {
          if (r.status !== 200) refusals.add(r.status);
          return r.status === 200;
        },
        'the egress list answered after the kill',
        15_000,
      );
      assert.deepEqual(
        listed.body,
        [],
        `no egress listed after the node died: ${JSON.stringify(listed.body)}`,
      );
    }
    assert.deepEqual(
      [...refusals].filter((s) => s !== 503),
      [],
      'while the death is being noticed the list is refused with 503 only',
    );
    await assert.rejects(fetch(hls.urls[0] ?? ''), 'the dead node serves nothing');
    // Stopping it finds nothing; a viewer asking where to watch Alice is told nobody streams her.
    const stopDead = await egressCall(one.url, room, 'DELETE', `/${hls.egressId}`);
    assert.equal(stopDead.status, 404, JSON.stringify(stopDead.body));
    const watchError = await subscribeHls(bob, aliceId).then(
      (urls) => `answered ${JSON.stringify(urls)}`,
      (err: Error & { code?: string }) => err.code ?? err.message,
    );
    assert.equal(watchError, 'not_found');

    // A new egress goes to the room's new node and is served from its port.
    const again = await startEgress(two.url, room, 'hls', aliceId);
    assert.equal(again.nodeId, other.nodeId, 'the new egress runs on the new node');
    const master = await firstOk(again.urls[0] ?? '', PLAYLIST_BOUND_MS);
    assert.match(master.text, /#EXT-X-STREAM-INF/);
    console.log(
      `cluster egress failover: frames advancing ${restoredAt.map((t) => t - killedAt).join(' / ')} ms after the kill (Alice / Bob); list refusals meanwhile: ${[...refusals].join(', ') || 'none'}; new egress playlist in ${master.ms} ms on ${other.nodeId}`,
    );
  });
});
