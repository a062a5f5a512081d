import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { checkEgressInstall } from '../../../src/roles/egress-loader.ts';

/** The egress stage runs after `npm run setup:egress`: what the server checks at start is there. */
describe('egress install (after npm run setup:egress)', () => {
  it("the server's check finds packages/egress's npm packages, ffmpeg and ffprobe", async () => {
    await checkEgressInstall({ searchPath: process.env.PATH ?? '' });
  });

  it('ffmpeg has an H264 encoder and the mp4 muxer; ffprobe runs', async () => {
    const run = promisify(execFile);
    const { stdout: encoders } = await run('ffmpeg', ['-hide_banner', '-encoders']);
    assert.match(encoders, /libx264|h264/);
    const { stdout: muxers } = await run('ffmpeg', ['-hide_banner', '-muxers']);
    assert.match(muxers, /\bmp4\b/);
    const { stdout: version } = await run('ffprobe', ['-version']);
    assert.match(version, /^ffprobe version/);
  });
});
