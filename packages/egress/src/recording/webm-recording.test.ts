import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryOutput } from '../mux/byte-output.ts';
import { opusFrame, vp8Frame } from './test-frames.ts';
import { WebmRecording } from './webm-recording.ts';

const audio = opusFrame;
const video = vp8Frame;

describe('WebmRecording', () => {
  it('starts the file at the first video keyframe, at 0, without the audio before it', async () => {
    const out = new MemoryOutput();
    const recording = new WebmRecording(out, { video: 'vp8', audio: { codec: 'opus', channels: 2 } });
    recording.write(audio(0));
    recording.write(video(10_000, false));
    recording.write(audio(20_000));
    assert.equal(out.position, 0, 'nothing written before the keyframe');
    recording.write(audio(40_000));
    recording.write(video(43_000, true));
    recording.write(audio(60_000));
    recording.write(video(76_000, false));
    await recording.end('stopped');
    // The audio frame at 40 ms (before the keyframe at 43) waited and was left out with the others.
    assert.deepEqual([recording.framesWritten, recording.framesSkipped], [3, 4]);
    const bytes = out.bytes();
    // The first cluster's timestamp is 0 (Timestamp element 0xE7, 1 byte, value 0).
    const cluster = bytes.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75]));
    assert.deepEqual(bytes.subarray(cluster + 12, cluster + 15), Buffer.from([0xe7, 0x81, 0x00]));
  });

  it('an audio-only recording starts at its first frame; frames after end() are ignored', async () => {
    const out = new MemoryOutput();
    const recording = new WebmRecording(out, { audio: { codec: 'opus', channels: 1 } });
    recording.write(audio(500_000));
    recording.write(audio(520_000));
    await recording.end('stopped');
    recording.write(audio(540_000));
    assert.equal(recording.framesWritten, 2);
  });
});
