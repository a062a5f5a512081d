import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StreamVariants } from './master-playlist.ts';
import { quotedString, renderRoomMasterPlaylist, stableId } from './room-master-playlist.ts';

/** A participant's stream as its own master lists it: H264 video, Opus and AAC renditions. */
function camera(peakBps = 1_000_000, width = 640): StreamVariants {
  return {
    video: {
      uri: 'video/index.m3u8',
      codecs: 'avc1.42e01f',
      width,
      height: 360,
      frameRate: 30,
      peakBps,
      averageBps: peakBps / 2,
    },
    audio: [
      {
        uri: 'audio-opus/index.m3u8',
        codecs: 'opus',
        name: 'Opus',
        channels: 2,
        peakBps: 64_000,
        averageBps: 48_000,
      },
      {
        uri: 'audio-aac/index.m3u8',
        codecs: 'mp4a.40.2',
        name: 'AAC',
        channels: 2,
        peakBps: 128_000,
        averageBps: 96_000,
      },
    ],
  };
}

/** Each EXT-X-STREAM-INF with the URI line after it. */
function variants(text: string): Array<{ inf: string; uri: string }> {
  const lines = text.trim().split('\n');
  return lines.flatMap((l, i) =>
    l.startsWith('#EXT-X-STREAM-INF:') ? [{ inf: l, uri: lines[i + 1]! }] : [],
  );
}

describe('room master playlist', () => {
  it('lists each participant as variants of its own, each with its own audio groups and stable id', () => {
    const text = renderRoomMasterPlaylist([
      { id: '12', name: 'Participant 12', ...camera(1_000_000) },
      { id: '13', name: 'Participant 13', ...camera(800_000, 320) },
    ]);
    assert.match(text, /^#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n/);
    const media = text.split('\n').filter((l) => l.startsWith('#EXT-X-MEDIA:'));
    assert.deepEqual(media, [
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="12-audio-opus",NAME="Participant 12",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="12/audio-opus/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="12-audio-mp4a402",NAME="Participant 12",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="12/audio-aac/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="13-audio-opus",NAME="Participant 13",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="13/audio-opus/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="13-audio-mp4a402",NAME="Participant 13",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="13/audio-aac/index.m3u8"',
    ]);
    assert.deepEqual(variants(text), [
      {
        inf: '#EXT-X-STREAM-INF:BANDWIDTH=1064000,AVERAGE-BANDWIDTH=548000,CODECS="avc1.42e01f,opus",RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO="12-audio-opus",STABLE-VARIANT-ID="12"',
        uri: '12/video/index.m3u8',
      },
      {
        inf: '#EXT-X-STREAM-INF:BANDWIDTH=1128000,AVERAGE-BANDWIDTH=596000,CODECS="avc1.42e01f,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO="12-audio-mp4a402",STABLE-VARIANT-ID="12"',
        uri: '12/video/index.m3u8',
      },
      {
        inf: '#EXT-X-STREAM-INF:BANDWIDTH=864000,AVERAGE-BANDWIDTH=448000,CODECS="avc1.42e01f,opus",RESOLUTION=320x360,FRAME-RATE=30.000,AUDIO="13-audio-opus",STABLE-VARIANT-ID="13"',
        uri: '13/video/index.m3u8',
      },
      {
        inf: '#EXT-X-STREAM-INF:BANDWIDTH=928000,AVERAGE-BANDWIDTH=496000,CODECS="avc1.42e01f,mp4a.40.2",RESOLUTION=320x360,FRAME-RATE=30.000,AUDIO="13-audio-mp4a402",STABLE-VARIANT-ID="13"',
        uri: '13/video/index.m3u8',
      },
    ]);
  });

  it('the stage form and a participant alone: only its variants', () => {
    const text = renderRoomMasterPlaylist([{ id: '12', name: 'Participant 12', ...camera() }]);
    assert.deepEqual(
      variants(text).map((v) => v.uri),
      ['12/video/index.m3u8', '12/video/index.m3u8'],
    );
    assert.doesNotMatch(text, /13/);
  });

  it('nobody streamed: the header alone', () => {
    assert.equal(renderRoomMasterPlaylist([]), '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n');
  });

  it('participants with equal streams get distinct bandwidths (hls.js would merge them)', () => {
    const text = renderRoomMasterPlaylist([
      { id: 'a', name: 'A', ...camera() },
      { id: 'b', name: 'B', ...camera() },
      { id: 'c', name: 'C', ...camera() },
    ]);
    const bandwidths = variants(text).map((v) => Number(/BANDWIDTH=(\d+)/.exec(v.inf)![1]));
    assert.equal(new Set(bandwidths).size, 6, bandwidths.join(' '));
    assert.deepEqual(bandwidths.slice(0, 2), [1_064_000, 1_128_000], 'the first keeps its measured value');
    assert.ok(
      bandwidths.every((b) => b >= 1_064_000 && b <= 1_128_002),
      bandwidths.join(' '),
    );
  });

  it('an audio-only participant: its audio playlists are its variants', () => {
    const { audio } = camera();
    const text = renderRoomMasterPlaylist([{ id: '7', name: 'Participant 7', video: null, audio }]);
    assert.deepEqual(variants(text), [
      {
        inf: '#EXT-X-STREAM-INF:BANDWIDTH=64000,AVERAGE-BANDWIDTH=48000,CODECS="opus",STABLE-VARIANT-ID="7"',
        uri: '7/audio-opus/index.m3u8',
      },
      {
        inf: '#EXT-X-STREAM-INF:BANDWIDTH=128000,AVERAGE-BANDWIDTH=96000,CODECS="mp4a.40.2",STABLE-VARIANT-ID="7"',
        uri: '7/audio-aac/index.m3u8',
      },
    ]);
  });

  it('escapes names and ids: no quote or line break inside a quoted-string, URIs encoded', () => {
    const text = renderRoomMasterPlaylist([{ id: 'a b"c', name: 'Bob "the\nbuilder"\r', ...camera() }]);
    const media = text.split('\n').find((l) => l.startsWith('#EXT-X-MEDIA:'))!;
    assert.match(media, /NAME="Bob 'the builder' "/);
    assert.match(media, /GROUP-ID="a b'c-audio-opus"/);
    assert.match(media, /URI="a%20b%22c\/audio-opus\/index\.m3u8"/);
    assert.match(text, /STABLE-VARIANT-ID="a_b_c"/);
    assert.equal(variants(text)[0]!.uri, 'a%20b%22c/video/index.m3u8');
    // Every line is one tag or one URI: the line break in the name did not split a tag.
    for (const line of text.trim().split('\n')) assert.match(line, /^(#EXT|[a-z0-9%])/i, line);
    assert.equal(quotedString('x\u0000y\u007fz'), 'x y z');
    assert.equal(stableId('Ab9+/=._-é'), 'Ab9+/=._-_');
  });
});
