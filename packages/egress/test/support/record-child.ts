/**
 * A process that records VP8 + Opus frames to a WebM file until it is killed: frames of the IVF
 * file in argv[2] written to argv[3], one video frame (and its 20 ms Opus packets) every 10 ms,
 * "frames N" printed after each one.
 */
import { readFile } from 'node:fs/promises';
import { FileOutput } from '../../src/mux/byte-output.ts';
import { WebmRecording } from '../../src/recording/webm-recording.ts';
import { OPUS_20MS } from '../../src/testing/rtp-build.ts';
import { readIvf } from '../media-files.ts';

const [ivf, target] = process.argv.slice(2);
const frames = readIvf(await readFile(ivf!));
const recording = new WebmRecording(await FileOutput.create(target!), {
  video: 'vp8',
  audio: { codec: 'opus', channels: 2 },
});
let i = 0;
let audioUs = 0;
const timer = setInterval(() => {
  const frame = frames[i % frames.length]!;
  const loops = Math.floor(i / frames.length);
  const ptsUs = frame.ptsUs + loops * frames.length * 66_667;
  recording.write({ ...frame, ptsUs });
  for (; audioUs <= ptsUs; audioUs += 20_000)
    recording.write({
      kind: 'audio',
      codec: 'opus',
      data: OPUS_20MS,
      ptsUs: audioUs,
      samples: 960,
      sampleRate: 48_000,
      channels: 2,
    });
  i++;
  process.stdout.write(`frames ${i}\n`);
}, 10);
process.on('SIGTERM', () => {
  clearInterval(timer);
  recording.end('stopped').then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
