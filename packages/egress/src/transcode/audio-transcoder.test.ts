import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../../../src/lib/logger.ts';
import type { AudioConfig, AudioFrame } from '../media/frame.ts';
import { AudioTranscoder } from './audio-transcoder.ts';
import { opusPacketSamples, readOggPages } from './ogg-opus.ts';
import { ffmpegFile, probe } from './test-media.ts';

let dir = '';
let packets: AudioFrame[] = [];
const FRAME_US = (1024 / 48000) * 1e6;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bbmeet-audio-transcoder-'));
  const ogg = await ffmpegFile(dir, 'in.ogg', [
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=5', '-ac', '2'],
    ...['-c:a', 'libopus', '-b:a', '64k', '-frame_duration', '20', '-f', 'ogg'],
  ]);
  // The first two packets are OpusHead and OpusTags; the timeline starts at an egress time of 2 s.
  let samples = 0;
  packets = readOggPages(ogg)
    .flatMap((page) => page.packets)
    .slice(2)
    .map((data) => {
      const ptsUs = 2_000_000 + Math.round((samples * 1e6) / 48000);
      samples += opusPacketSamples(data);
      return { kind: 'audio', codec: 'opus', data, ptsUs, samples: 960, sampleRate: 48000, channels: 2 };
    });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function adtsHeader(config: AudioConfig, payload: number): Buffer {
  const asc = config.audioSpecificConfig!.readUInt16BE(0);
  const objectType = asc >> 11;
  const rateIndex = (asc >> 7) & 0x0f;
  const length = payload + 7;
  return Buffer.from([
    0xff,
    0xf1,
    ((objectType - 1) << 6) | (rateIndex << 2) | (config.channels >> 2),
    ((config.channels & 3) << 6) | (length >> 11),
    (length >> 3) & 0xff,
    ((length & 7) << 5) | 0x1f,
    0xfc,
  ]);
}

async function transcode(input: AudioFrame[]): Promise<{ out: AudioFrame[]; config: AudioConfig }> {
  const out: AudioFrame[] = [];
  const configs: AudioConfig[] = [];
  const transcoder = new AudioTranscoder({
    logger: silentLogger(),
    onFrame: (frame) => out.push(frame),
    onConfig: (config) => configs.push(config),
    onFailed: (reason) => assert.fail(reason),
  });
  for (const packet of input) transcoder.write(packet);
  await transcoder.end('test done');
  assert.equal(transcoder.dropped, 0);
  assert.equal(configs.length, 1);
  return { out, config: configs[0]! };
}

function endUs(frames: AudioFrame[], frameUs: number): number {
  return frames.at(-1)!.ptsUs + frameUs;
}

test('AudioTranscoder turns Opus into AAC frames covering the input duration', async () => {
  const { out, config } = await transcode(packets);
  assert.equal(config.codec, 'aac');
  assert.equal(config.sampleRate, 48000);
  assert.equal(config.channels, 2);
  assert.deepEqual(config.audioSpecificConfig, Buffer.from([0x11, 0x90]));
  assert.equal(out[0]!.ptsUs, packets[0]!.ptsUs);
  for (let i = 1; i < out.length; i++) assert.ok(Math.abs(out[i]!.ptsUs - out[i - 1]!.ptsUs - FRAME_US) < 1);
  assert.ok(Math.abs(endUs(out, FRAME_US) - endUs(packets, 20_000)) <= FRAME_US);

  const adts = Buffer.concat(out.flatMap((f) => [adtsHeader(config, f.data.length), f.data]));
  const path = join(dir, 'out.aac');
  await writeFile(path, adts);
  const info = await probe(path, true);
  assert.equal(info.streams[0]?.codec_name, 'aac');
  assert.equal(info.streams[0]?.sample_rate, '48000');
  assert.equal(info.streams[0]?.channels, 2);
  assert.equal(info.streams[0]?.nb_read_frames, String(out.length));
});

test('AudioTranscoder fills a gap in the input (DTX, loss) so AAC time follows the input pts', async () => {
  // 500 ms without packets from 1 s on.
  const start = packets[0]!.ptsUs;
  const withGap = packets.filter((p) => p.ptsUs < start + 1_000_000 || p.ptsUs >= start + 1_500_000);
  assert.equal(packets.length - withGap.length, 25);
  const { out } = await transcode(withGap);
  assert.ok(Math.abs(endUs(out, FRAME_US) - endUs(withGap, 20_000)) <= FRAME_US);
});
