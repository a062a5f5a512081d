import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { silentLogger } from '../../../../src/lib/logger.ts';
import type { StreamVariants } from './master-playlist.ts';
import { RoomMaster } from './room-master.ts';

const STREAM: StreamVariants = {
  video: {
    uri: 'video/index.m3u8',
    codecs: 'avc1.42e01f',
    width: 640,
    height: 360,
    frameRate: 30,
    peakBps: 900_000,
    averageBps: 500_000,
  },
  audio: [
    { uri: 'audio-aac/index.m3u8', codecs: 'mp4a.40.2', name: 'AAC', channels: 2, peakBps: 1, averageBps: 1 },
  ],
};

/** The participants a room master lists (the first path segment of each variant URI). */
function listed(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('/')[0]!);
}

describe('room master playlist file', () => {
  let dir: string;
  let written: Array<{ text: string; ids: string[] }>;
  let master: RoomMaster;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'room-master-'));
    written = [];
    master = new RoomMaster({
      dir: join(dir, 'egress'),
      logger: silentLogger(),
      onWritten: (text, ids) => written.push({ text, ids }),
    });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const file = () => readFile(join(dir, 'egress', 'master.m3u8'), 'utf8');

  it('participants come and go: listed from their first master, in the order added, dropped on removal', async () => {
    master.add('12', 'Participant 12');
    master.add('13', 'Participant 13');
    await master.end();
    assert.equal(existsSync(join(dir, 'egress', 'master.m3u8')), false, 'nobody has a stream yet');
    assert.equal(master.written, false);

    master.update('13', STREAM);
    await master.end();
    assert.deepEqual(listed(await file()), ['13']);
    master.update('12', STREAM);
    await master.end();
    assert.deepEqual(listed(await file()), ['12', '13'], 'in the order added, not the order streamed');
    assert.deepEqual(master.listed(), ['12', '13']);

    master.remove('12');
    // A removed participant's stream still writes its last master as it ends: not listed again.
    master.update('12', STREAM);
    await master.end();
    assert.deepEqual(listed(await file()), ['13']);

    master.remove('13');
    await master.end();
    assert.deepEqual(listed(await file()), [], 'everyone left: no variant');
    assert.match(await file(), /^#EXTM3U\n/);
    assert.deepEqual(
      written.map((w) => w.ids),
      [['13'], ['12', '13'], ['13'], []],
    );
    assert.deepEqual(
      (await readdir(join(dir, 'egress'))).filter((f) => f.startsWith('.')),
      [],
      'no temporary file left',
    );
  });

  it('writes only when the text changes (a stream rewrites its master at each segment)', async () => {
    master.add('12', 'Participant 12');
    master.update('12', STREAM);
    master.update('12', STREAM);
    await master.end();
    assert.equal(written.length, 1);
    master.update('12', { ...STREAM, video: { ...STREAM.video!, peakBps: 1_000_000 } });
    await master.end();
    assert.equal(written.length, 2);
    assert.match(await file(), /BANDWIDTH=1000001,/);
  });

  it('a participant updated before it was added is ignored', async () => {
    master.update('99', STREAM);
    await master.end();
    assert.equal(written.length, 0);
  });

  it('a directory that cannot be written reports the error once', async () => {
    const errors: Error[] = [];
    // A file where the directory should be: mkdir fails (ENOTDIR).
    await writeFile(join(dir, 'blocker'), '');
    const blocked = new RoomMaster({
      dir: join(dir, 'blocker', 'egress'),
      logger: silentLogger(),
      onError: (err) => errors.push(err),
    });
    blocked.add('1', 'Participant 1');
    blocked.update('1', STREAM);
    await blocked.end();
    assert.equal(errors.length, 1);
  });
});
