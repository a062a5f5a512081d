import assert from 'node:assert/strict';
import { test } from 'node:test';
import { playlistReferences } from './playlist-references.ts';

test('playlistReferences() names segments, parts and the init segment, not the preload hint', () => {
  const text = [
    '#EXTM3U',
    '#EXT-X-VERSION:9',
    '#EXT-X-MAP:URI="init.mp4"',
    '#EXTINF:2.000,',
    'seg_1.m4s',
    '#EXT-X-PART:DURATION=0.5,URI="part_2.0.m4s",INDEPENDENT=YES',
    '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_2.1.m4s"',
    '#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=2',
    'https://cdn.example/elsewhere.m4s',
    '',
  ].join('\n');
  assert.deepEqual(playlistReferences(text, 'video/index.m3u8'), [
    'video/init.mp4',
    'video/seg_1.m4s',
    'video/part_2.0.m4s',
  ]);
});

test('playlistReferences() resolves a master playlist’s renditions relative to it', () => {
  const text = [
    '#EXTM3U',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="opus",URI="audio/index.m3u8"',
    '#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.42e01f,opus",AUDIO="a"',
    'video/index.m3u8?_HLS_msn=1',
  ].join('\r\n');
  assert.deepEqual(playlistReferences(text, 'master.m3u8'), ['audio/index.m3u8', 'video/index.m3u8']);
});
