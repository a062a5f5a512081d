import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { FileOutput } from '../src/mux/byte-output.ts';
import { WebmRecording } from '../src/recording/webm-recording.ts';
import { relayedTrack } from '../src/testing/rtp-build.ts';
import { decodeCounts as decode, probe as ffprobe } from './ffmpeg-probe.ts';
import { streamThroughTap } from './rtp-source.ts';

/**
 * Real RTP from ffmpeg (libvpx / libx264 / libopus, paced with -re) through the tap path (UDP →
 * handover batches → MessageChannel → TapReader: reorder, depacketize, timeline from ffmpeg's
 * sender reports) into recordings, checked with ffprobe and a full decode.
 */

const SECONDS = 3;
const FPS = 30;
const VIDEO_PT = 96;
const AUDIO_PT = 111;
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recording-rtp-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const source = ['-re', '-f', 'lavfi', '-i', `testsrc=size=320x240:rate=${FPS}`];
const tone = ['-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
const rtpOut = (port: number, pt: number) => [
  '-payload_type',
  String(pt),
  '-f',
  'rtp',
  `rtp://127.0.0.1:${port}?pkt_size=1200`,
];

/** First and last packet times of each stream of a file (ffprobe), in seconds. */
async function packetSpans(path: string): Promise<Record<string, [number, number]>> {
  const { stdout } = await promisify(execFile)('ffprobe', [
    ...['-v', 'error', '-show_entries', 'packet=codec_type,pts_time', '-of', 'csv=p=0', path],
  ]);
  const spans: Record<string, [number, number]> = {};
  for (const line of stdout.trim().split('\n')) {
    const [type, time] = line.split(',');
    const t = Number(time);
    const span = spans[type!] ?? [t, t];
    spans[type!] = [Math.min(span[0], t), Math.max(span[1], t)];
  }
  return spans;
}

describe('recordings from RTP', () => {
  it('VP8 + Opus → WebM: 320x240, duration and A/V within 100 ms, every frame decodes', async () => {
    const video = relayedTrack({
      relayId: 1,
      kind: 'video',
      mimeType: 'video/VP8',
      payloadType: VIDEO_PT,
      clockRate: 90_000,
    });
    const audio = relayedTrack({
      relayId: 2,
      kind: 'audio',
      mimeType: 'audio/opus',
      payloadType: AUDIO_PT,
      clockRate: 48_000,
      channels: 2,
    });
    const path = join(dir, 'vp8.webm');
    const recording = new WebmRecording(await FileOutput.create(path), {
      video: 'vp8',
      audio: { codec: 'opus', channels: 2 },
    });
    const run = await streamThroughTap(
      [video, audio],
      ([v, a]) => [
        ...source,
        ...tone,
        ...[
          '-t',
          String(SECONDS),
          '-map',
          '0:v',
          '-c:v',
          'libvpx',
          '-deadline',
          'realtime',
          '-g',
          '30',
          '-b:v',
          '400k',
        ],
        ...rtpOut(v!, VIDEO_PT),
        ...['-t', String(SECONDS), '-map', '1:a', '-c:a', 'libopus', '-b:a', '64k'],
        ...rtpOut(a!, AUDIO_PT),
      ],
      (_, frame) => recording.write(frame),
      'media',
    );
    await recording.end('done');
    assert.equal(run.senderReports, 2);
    assert.ok(run.reader.tracks.every((t) => t.synced));
    assert.ok(run.feedback.some((f) => (f as { t: string }).t === 'keyframe'));
    const probe = await ffprobe(path);
    const v = probe.streams.find((s) => s.codec_type === 'video');
    assert.deepEqual([v?.codec_name, v?.width, v?.height], ['vp8', 320, 240]);
    assert.equal(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'opus');
    const duration = Number(probe.format.duration);
    assert.ok(Math.abs(duration - SECONDS) <= 0.1, `duration ${duration}`);
    const decoded = await decode(path);
    assert.equal(decoded.errors, '');
    assert.ok(Math.abs(decoded.videoFrames - SECONDS * FPS) <= 1, `${decoded.videoFrames} frames`);
    const spans = await packetSpans(path);
    // Both inputs last 3 s: their first and last frames line up (20 ms audio frames, 33 ms video).
    assert.ok(Math.abs(spans.video![0] - spans.audio![0]) <= 0.03, `starts ${JSON.stringify(spans)}`);
    assert.ok(Math.abs(spans.video![1] - spans.audio![1]) <= 0.1, `ends ${JSON.stringify(spans)}`);
  });

  it('VP9 → WebM: the frames ffmpeg packetized decode at their size', async () => {
    const video = relayedTrack({
      relayId: 1,
      kind: 'video',
      mimeType: 'video/VP9',
      payloadType: 98,
      clockRate: 90_000,
    });
    const path = join(dir, 'vp9.webm');
    const recording = new WebmRecording(await FileOutput.create(path), { video: 'vp9' });
    await streamThroughTap(
      [video],
      ([v]) => [
        ...source,
        ...[
          '-t',
          '2',
          '-c:v',
          'libvpx-vp9',
          '-deadline',
          'realtime',
          '-cpu-used',
          '8',
          '-g',
          '30',
          '-strict',
          'experimental',
        ],
        ...rtpOut(v!, 98),
      ],
      (_, frame) => recording.write(frame),
    );
    await recording.end('done');
    const probe = await ffprobe(path);
    const v = probe.streams.find((s) => s.codec_type === 'video');
    assert.deepEqual([v?.codec_name, v?.width, v?.height], ['vp9', 320, 240]);
    const decoded = await decode(path);
    assert.equal(decoded.errors, '');
    assert.ok(Math.abs(decoded.videoFrames - 2 * FPS) <= 1, `${decoded.videoFrames} frames`);
  });

  it('H264 (FU-A, STAP-A) → AVCC access units that decode with their size from the SPS', async () => {
    // The reader joins a stream as if mid-frame (it waits for a marker bit, then a keyframe): the
    // keyframe ffmpeg starts with is skipped, the frames from the next one (-g 30) on are kept.
    const video = relayedTrack({
      relayId: 1,
      kind: 'video',
      mimeType: 'video/H264',
      payloadType: 102,
      clockRate: 90_000,
    });
    const run = await streamThroughTap([video], ([v]) => [
      ...source,
      ...['-t', '3', '-c:v', 'libx264', '-profile:v', 'baseline', '-tune', 'zerolatency', '-g', '30'],
      ...['-pix_fmt', 'yuv420p', '-bsf:v', 'dump_extra'],
      ...rtpOut(v!, 102),
    ]);
    const frames = run.frames.map((f) => f.frame);
    assert.ok(frames.length >= 2 * FPS - 1, `${frames.length} frames`);
    assert.ok(run.reader.tracks[0]!.framesDropped >= FPS - 1);
    assert.ok(frames[0]!.kind === 'video' && frames[0]!.keyframe);
    assert.ok(frames.every((f) => f.kind === 'video' && f.width === 320 && f.height === 240));
    // AVCC → Annex B, which ffmpeg decodes on its own.
    const annexB: Buffer[] = [];
    for (const f of frames)
      for (let at = 0; at < f.data.length; at += 4 + f.data.readUInt32BE(at))
        annexB.push(Buffer.from([0, 0, 0, 1]), f.data.subarray(at + 4, at + 4 + f.data.readUInt32BE(at)));
    const path = join(dir, 'h264.264');
    await writeFile(path, Buffer.concat(annexB));
    const decoded = await decode(path);
    assert.equal(decoded.errors, '');
    assert.equal(decoded.videoFrames, frames.length);
  });
});
