import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as Moq from '@moq/net';
import { silentLogger } from '../../../../src/lib/logger.ts';
import type { VideoFrame } from '../media/frame.ts';
import { MOQ_PATH, MoqServer } from './moq-server.ts';

/** A VP8 keyframe header for 320x240 (RFC 6386 §9.1) followed by filler. */
function vp8Frame(keyframe: boolean, fill: number): Buffer {
  const data = Buffer.alloc(64, fill);
  if (keyframe) {
    data.set([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a], 0);
    data.writeUInt16LE(320, 6);
    data.writeUInt16LE(240, 8);
  } else {
    data[0] = 0x11;
  }
  return data;
}

function video(keyframe: boolean, ptsUs: number, fill: number): VideoFrame {
  return {
    kind: 'video',
    codec: 'vp8',
    data: vp8Frame(keyframe, fill),
    keyframe,
    ptsUs,
    width: 0,
    height: 0,
  };
}

/** Splits a hang legacy frame into its microsecond timestamp and payload. */
function legacy(frame: Moq.Group.Frame): { us: number; data: Buffer } {
  const [us, data] = Moq.Varint.decode(frame.payload);
  return { us, data: Buffer.from(data) };
}

describe('MoqServer', () => {
  let http: Server;
  let moq: MoqServer;
  let url: URL;

  before(async () => {
    moq = new MoqServer({
      logger: process.env.DEBUG_MOQ ? (await import('pino')).pino({ level: 'debug' }) : silentLogger(),
    });
    http = createServer((_req, res) => res.writeHead(404).end());
    http.on('upgrade', (req, socket, head) => {
      if (!moq.upgrade(req, socket, head)) socket.destroy();
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    url = new URL(`ws://127.0.0.1:${(http.address() as AddressInfo).port}${MOQ_PATH}`);
  });

  after(async () => {
    await moq.close();
    http.close();
  });

  it('serves a late viewer the catalog and the current group from its keyframe', async () => {
    const broadcast = moq.createBroadcast('room1/alice');
    broadcast.write(video(false, 0, 1)); // before any keyframe: dropped
    broadcast.write(video(true, 33_000, 2));
    broadcast.write(video(false, 66_000, 3));

    const connection = await Moq.Connection.connect(url);
    try {
      assert.equal(connection.version.includes('lite') || connection.version.length > 0, true);
      const remote = connection.consume(Moq.Path.from('room1/alice'));
      const catalog = (await remote.track('catalog.json').subscribe().readJson()) as {
        video: { renditions: Record<string, { codec: string; codedWidth: number }> };
      };
      assert.equal(catalog.video.renditions.video?.codec, 'vp8');
      assert.equal(catalog.video.renditions.video?.codedWidth, 320);

      const track = remote.track('video').subscribe();
      const first = legacy((await track.readFrame())!);
      assert.equal(first.us, 33_000);
      assert.equal(first.data[3], 0x9d, 'the group starts at the keyframe');
      assert.equal(legacy((await track.readFrame())!).us, 66_000);
      broadcast.write(video(false, 99_000, 4));
      assert.equal(legacy((await track.readFrame())!).us, 99_000, 'live frames follow the replayed ones');
      assert.equal(broadcast.stats().framesDropped, 1);
      assert.equal(moq.stats().viewers, 1);
    } finally {
      connection.close();
      await broadcast.end('stopped');
    }
  });

  it('refuses a WebSocket without a moq-lite subprotocol and answers no other path', async () => {
    const other = new WebSocket(url.href.replace(MOQ_PATH, '/elsewhere'), ['qmux-02.moq-lite-05']);
    const plain = new WebSocket(url.href);
    const results = await Promise.all(
      [other, plain].map(
        (ws) =>
          new Promise<string>((resolve) => {
            ws.onopen = () => resolve('open');
            ws.onerror = () => resolve('error');
          }),
      ),
    );
    assert.deepEqual(results, ['error', 'error']);
  });
});
