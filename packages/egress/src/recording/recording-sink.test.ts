import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MediaFrame } from '../media/frame.ts';
import { MemoryOutput } from '../mux/byte-output.ts';
import { RecordingSink } from './recording-sink.ts';
import { opusFrame, vp8Frame } from './test-frames.ts';

/** A recording whose muxer only notes the frames it is given, with their file times. */
class NotingSink extends RecordingSink {
  readonly appended: Array<[kind: string, ptsUs: number]> = [];
  protected open(frame: MediaFrame): boolean {
    return frame.kind === 'video' && frame.keyframe;
  }
  protected append(frame: MediaFrame): boolean {
    this.appended.push([frame.kind, frame.ptsUs]);
    return true;
  }
  protected close(): void {}
}

const audio = opusFrame;
const video = (ptsUs: number, keyframe = false): MediaFrame => vp8Frame(ptsUs, keyframe);

describe('RecordingSink', () => {
  it('a sender report moving the timeline back (frames 1 µs apart): overlapping audio is left out, video times still increase by 1 ms', async () => {
    // Found in a Chromium recording: after the first sender report the timeline gave audio frames
    // last + 1 µs, which a WebM writes at the same millisecond (ffmpeg: "non monotonically
    // increasing dts").
    const sink = new NotingSink(new MemoryOutput());
    sink.write(video(1_000_000, true));
    sink.write(audio(1_000_000));
    sink.write(audio(1_020_000));
    // The report moved the mapping 30 ms back: the timeline clamps to last + 1 µs.
    sink.write(audio(1_020_001));
    sink.write(video(1_020_001));
    sink.write(video(1_020_002));
    sink.write(audio(1_020_002));
    // The mapping's own times again, now past what was written.
    sink.write(audio(1_040_000));
    sink.write(video(1_070_000));
    await sink.end('stopped');
    assert.deepEqual(sink.appended, [
      ['video', 0],
      ['audio', 0],
      ['audio', 20_000],
      ['video', 20_001],
      ['video', 21_001],
      ['audio', 40_000],
      ['video', 70_000],
    ]);
    assert.deepEqual([sink.framesWritten, sink.framesSkipped], [7, 2]);
  });

  it('audio frames that follow each other, within rounding, are all written', async () => {
    const sink = new NotingSink(new MemoryOutput());
    sink.write(video(0, true));
    for (const pts of [0, 19_990, 40_000, 60_000, 100_000]) sink.write(audio(pts));
    await sink.end('stopped');
    assert.equal(sink.appended.filter(([kind]) => kind === 'audio').length, 5);
  });

  it('is started (the egress active) only once a keyframe opened the file, not at the first frame', async () => {
    // A CI run saw an H264 recording's egress reported active at the first audio frame, a second
    // before the first keyframe: the file was a second shorter than "recording since active".
    const sink = new NotingSink(new MemoryOutput());
    sink.write(audio(0));
    sink.write(video(20_000));
    assert.equal(sink.started, false);
    sink.write(video(40_000, true));
    assert.equal(sink.started, true);
    await sink.end('stopped');
  });
});
