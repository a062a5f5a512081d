import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RoomId } from '../../../../src/lib/ids.ts';
import { silentLogger } from '../../../../src/lib/logger.ts';
import type { EgressKind, EgressRequest } from '../../../../src/protocol/egress.ts';
import { HlsStream } from '../hls/hls-stream.ts';
import { openRecording } from '../recording/recording.ts';
import { h264Fixture } from '../testing/fixtures.ts';
import { EgressStatsCollector } from './egress-stats.ts';
import { EgressRegistry, type EgressSession, type SessionEvents } from './registry.ts';

const NONE = { hls: 0, recording: 0, moq: 0 };

describe('EgressStatsCollector', () => {
  it('counts HLS files as they land: every file in bytes, complete segments in segments', () => {
    const stats = new EgressStatsCollector();
    stats.fileWritten(800, false);
    stats.fileWritten(10_000, false);
    stats.fileWritten(40_000, true);
    const s = stats.snapshot({ ...NONE, hls: 1 }, 2);
    assert.deepEqual(s, {
      active: { hls: 1, recording: 0, moq: 0 },
      segmentsWritten: 1,
      bytesWritten: 50_800,
      uploadErrors: 2,
      transcodeCpuSeconds: 0,
    });
  });

  it('reads running outputs at each snapshot and keeps their last values once they end, once', () => {
    const stats = new EgressStatsCollector();
    const output = { bytes: 100, cpu: 0.5 };
    const untrack = stats.track({
      bytesWritten: () => output.bytes,
      transcodeCpuSeconds: () => output.cpu,
    });
    assert.equal(stats.snapshot(NONE, 0).bytesWritten, 100);
    output.bytes = 5000;
    output.cpu = 2.25;
    assert.equal(stats.snapshot(NONE, 0).bytesWritten, 5000);
    untrack();
    untrack();
    output.bytes = 1e9;
    const ended = stats.snapshot(NONE, 0);
    assert.equal(ended.bytesWritten, 5000);
    assert.equal(ended.transcodeCpuSeconds, 2.25);
  });

  it('an HLS stream reports each file it writes: the segment bytes match the files on disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egress-stats-'));
    try {
      const stats = new EgressStatsCollector();
      const stream = new HlsStream({
        dir,
        segmentSeconds: 1,
        partSeconds: 0,
        windowSegments: 100,
        tracks: ['video'],
        logger: silentLogger(),
        onFileWritten: (bytes, segment) => stats.fileWritten(bytes, segment),
      });
      for (const frame of (await h264Fixture({ seconds: 4 })).frames) stream.write(frame);
      await stream.end('stopped');
      const files = (await readdir(join(dir, 'video'))).filter(
        (f) => f.endsWith('.m4s') || f.endsWith('.mp4'),
      );
      const sizes = await Promise.all(files.map(async (f) => (await stat(join(dir, 'video', f))).size));
      const s = stats.snapshot(NONE, 0);
      assert.equal(s.segmentsWritten, files.filter((f) => f.endsWith('.m4s')).length);
      assert.ok(s.segmentsWritten >= 3, `segments: ${s.segmentsWritten}`);
      assert.equal(
        s.bytesWritten,
        sizes.reduce((a, b) => a + b, 0),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('recording bytes', () => {
  it("a recording's bytesWritten is its file's size once closed", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egress-stats-'));
    try {
      const failures: Error[] = [];
      const { sink, file, bytesWritten } = await openRecording(join(dir, 'rec'), { video: 'h264' }, (err) =>
        failures.push(err),
      );
      for (const frame of (await h264Fixture({ seconds: 2 })).frames) sink.write(frame);
      await sink.end('stopped');
      assert.deepEqual(failures, []);
      assert.ok(bytesWritten() > 0);
      assert.equal(bytesWritten(), (await stat(file)).size);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('EgressRegistry.stats', () => {
  it('counts egresses not yet ended by kind, beside the counters it is given', async () => {
    const sessions: SessionEvents[] = [];
    const registry = new EgressRegistry({
      nodeId: 'n1',
      baseUrl: null,
      logger: silentLogger(),
      stats: (active) => new EgressStatsCollector().snapshot(active, 7),
      create(_req, _id, events): EgressSession {
        sessions.push(events);
        return {
          start: async () => undefined,
          stop: async () => undefined,
          outputs: () => ({ playlist: null, files: [], moqPath: null }),
        };
      },
    });
    const req = (kind: EgressKind): EgressRequest => ({
      roomId: RoomId('1'),
      kind,
      participantId: null,
      requestedBy: 'admin',
    });
    const hls = await registry.start(req('hls'));
    await registry.start(req('hls'));
    await registry.start(req('recording'));
    assert.deepEqual(registry.stats().active, { hls: 2, recording: 1, moq: 0 });
    assert.equal(registry.stats().uploadErrors, 7);
    await registry.stop(hls.egressId, 'stopped');
    assert.deepEqual(registry.stats().active, { hls: 1, recording: 1, moq: 0 });
    await registry.close();
    assert.deepEqual(registry.stats().active, NONE);
  });
});
