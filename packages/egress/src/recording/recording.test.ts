import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openRecording, recordingFormat } from './recording.ts';

describe('recordings', () => {
  it('records H264 to MP4 and VP8, VP9, AV1 or audio alone to WebM', () => {
    assert.equal(recordingFormat({ video: 'h264', audio: { codec: 'opus', channels: 2 } }), 'mp4');
    for (const video of ['vp8', 'vp9', 'av1'] as const) assert.equal(recordingFormat({ video }), 'webm');
    assert.equal(recordingFormat({ audio: { codec: 'opus', channels: 1 } }), 'webm');
  });

  it('opens the file with its extension and closes it on end', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recording-'));
    try {
      const errors: Error[] = [];
      const { sink, file, format } = await openRecording(join(dir, 'alice'), { video: 'vp8' }, (e) =>
        errors.push(e),
      );
      assert.deepEqual([file, format], [join(dir, 'alice.webm'), 'webm']);
      await sink.end('stopped');
      assert.equal((await stat(file)).size, 0, 'no frame came: nothing written');
      assert.deepEqual(errors, []);
      await assert.rejects(
        openRecording(join(dir, 'nobody'), {}, () => {}),
        { name: 'SfuError' },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
