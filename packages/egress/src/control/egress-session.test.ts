import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ParticipantId, RoomId } from '../../../../src/lib/ids.ts';
import { silentLogger } from '../../../../src/lib/logger.ts';
import type { EgressSource, PublisherTap, TapMessage } from '../../../../src/sfu/egress-backend.ts';
import type { MoqServer } from '../moq/index.ts';
import {
  handoverBatch,
  OPUS_20MS,
  OPUS_TRACK,
  rtpPacket,
  VP8_TRACK,
  vp8Payload,
} from '../testing/rtp-build.ts';
import { PublisherEgressSession } from './egress-session.ts';

/**
 * A room egress following its publishers as they come and go, over a source whose taps the test
 * feeds: a publisher that leaves and comes back (a rejoin after a lost connection keeps its
 * participant id) is streamed again, into a directory of its own.
 */

const VIDEO = VP8_TRACK;
const AUDIO = OPUS_TRACK;

/** The worker's end of a tap: the test sends what a worker would. */
class FakeTapPort extends EventEmitter {
  closed = false;
  postMessage(): void {}
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
  send(message: TapMessage): void {
    this.emit('message', message);
  }
}

class FakeSource implements EgressSource {
  readonly nodeId = 'node-1';
  /** Each tap, and whether every earlier tap was closed (its stream stopped) when it was made. */
  readonly taps: Array<{ participantId: ParticipantId; port: FakeTapPort; earlierClosed: boolean }> = [];
  #listener: Parameters<EgressSource['watch']>[1] | undefined;
  publishers(): ParticipantId[] {
    return [];
  }
  async tap(_roomId: RoomId, participantId: ParticipantId): Promise<PublisherTap> {
    const port = new FakeTapPort();
    this.taps.push({ participantId, port, earlierClosed: this.taps.every((t) => t.port.closed) });
    return { participantId, tracks: [VIDEO, AUDIO], port: port as unknown as PublisherTap['port'] };
  }
  watch(_roomId: RoomId, listener: Parameters<EgressSource['watch']>[1]): () => void {
    this.#listener = listener;
    return () => {
      this.#listener = undefined;
    };
  }
  change(type: 'ready' | 'left', participantId: ParticipantId): void {
    this.#listener?.({ type, participantId });
  }
}

/**
 * Half a second of media on the tap, as a worker hands it over: a VP8 keyframe then inter frames
 * at 30 fps, with Opus every 20 ms, a batch per video frame.
 */
async function stream(port: FakeTapPort): Promise<void> {
  // A MessagePort holds what is posted until it has a listener; this port drops it.
  await until('the tap read', () => port.listenerCount('message') > 0);
  for (let i = 0; i < 15; i++) {
    const records: Array<[number, number, Buffer]> = [
      [
        1,
        0,
        rtpPacket({
          seq: i,
          timestamp: i * 3000,
          ssrc: 0x1111,
          payloadType: 96,
          marker: true,
          payload: vp8Payload(i === 0),
        }),
      ],
    ];
    // Why 5 every 3 frames: 100 ms of 20 ms Opus packets per 100 ms of video.
    if (i % 3 === 0)
      for (let k = 0; k < 5; k++) {
        const n = (i / 3) * 5 + k;
        records.push([
          2,
          0,
          rtpPacket({ seq: n, timestamp: n * 960, ssrc: 0x2222, payloadType: 111, payload: OPUS_20MS }),
        ]);
      }
    port.send({ t: 'rtp', batch: handoverBatch(records) });
    await new Promise((resolve) => setTimeout(resolve, 33));
  }
}

async function until(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('a room egress and publishers coming back', () => {
  let dataDir = '';
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'egress-session-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a publisher who leaves and comes back with the same id is recorded again, in its own directory, once its first stream is stopped', async () => {
    const source = new FakeSource();
    const ended: string[] = [];
    let active = 0;
    const session = new PublisherEgressSession(
      { roomId: RoomId(5), kind: 'recording', participantId: null, requestedBy: 'admin' },
      'eg-rejoin',
      { active: () => active++, end: (reason) => ended.push(reason) },
      {
        source,
        settings: {
          dataDir,
          segmentSeconds: 2,
          partSeconds: 0,
          windowSegments: 6,
          publicUrl: null,
          storage: null,
        },
        moq: {} as MoqServer,
        logger: silentLogger(),
        uploads: null,
      },
    );
    await session.start();
    const seven = ParticipantId(7);

    source.change('ready', seven);
    await until('the first tap', () => source.taps.length === 1);
    await stream(source.taps[0]!.port);
    await until('the first recording active', () => active === 1);
    // It leaves: the SFU says so, and its tap ends.
    source.change('left', seven);
    source.taps[0]!.port.send({ t: 'gone' });
    // It comes back (same participant id) before its first file is finished.
    source.change('ready', seven);
    await until('the second tap', () => source.taps.length === 2);
    assert.equal(source.taps[1]!.participantId, seven);
    assert.ok(source.taps[1]!.earlierClosed, 'the first stream was stopped before the second began');
    await stream(source.taps[1]!.port);
    // The first stream's late `gone` (after the second began) ends nothing of the second.
    source.taps[0]!.port.send({ t: 'gone' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(source.taps[1]!.port.closed, false, 'the second tap is still open');

    await session.stop('room_empty');
    assert.deepEqual(ended, [], 'a publisher leaving does not end a room egress');
    const files = session.outputs().files;
    assert.deepEqual(
      files.map((f) => f.split('/').slice(0, 2).join('/')),
      ['eg-rejoin/7', 'eg-rejoin/7-2'],
      `files: ${files.join(' ')}`,
    );
    for (const file of files) assert.ok((await stat(join(dataDir, file))).size > 0, `${file} has content`);
    assert.ok(source.taps[0]!.port.closed && source.taps[1]!.port.closed, 'both taps closed');
  });
});
