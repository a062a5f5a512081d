import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type Hls from 'hls.js';
import { participantsOf, REFRESH_MS, RoomParticipants, replacementFor } from './room-participants.ts';

/** The viewer's participant picker, on a stand-in for hls.js and the page's list element. */

const MASTER = [
  '#EXTM3U',
  '#EXT-X-STREAM-INF:BANDWIDTH=900000,STABLE-VARIANT-ID="1"',
  '1/video/index.m3u8',
  '#EXT-X-STREAM-INF:BANDWIDTH=500000,STABLE-VARIANT-ID="2"',
  '2/video/index.m3u8',
  '',
].join('\n');

type Listener = (event: string, data: unknown) => void;

/** hls.js as the picker uses it: levels by STABLE-VARIANT-ID, events, the level pinned. */
function fakeHls(ids: string[]) {
  const listeners = new Map<string, Listener[]>();
  const hls = {
    levels: ids.map((id) => ({ attrs: { 'STABLE-VARIANT-ID': id } })),
    currentLevel: -1,
    sources: 0,
    on(event: string, listener: Listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
    },
    loadSource() {
      hls.sources++;
    },
    emit(event: string, data: unknown = {}) {
      for (const listener of listeners.get(event) ?? []) listener(event, data);
    },
    playlist(level: number, live: boolean) {
      hls.emit('hlsLevelUpdated', { level, details: { live } });
    },
    buffered(level: number, type = 'main') {
      hls.emit('hlsFragBuffered', { frag: { level, type } });
    },
  };
  return hls;
}

/** The master playlist the stand-in server answers. */
let served = MASTER;

/** A page with `document.createElement` enough for the buttons, the master served, timers held. */
function page(t: TestContext) {
  served = MASTER;
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  t.mock.method(globalThis, 'fetch', async () => new Response(served));
  t.mock.method(console, 'info', () => undefined);
  const element = () => ({ dataset: {}, setAttribute() {}, textContent: '', type: '', onclick: null });
  (globalThis as { document?: unknown }).document = { createElement: element };
  t.after(() => delete (globalThis as { document?: unknown }).document);
  return { hidden: true, replaceChildren() {} } as unknown as HTMLElement;
}

function picker(t: TestContext) {
  const hls = fakeHls(['1', '2']);
  const jumps: string[] = [];
  const room = new RoomParticipants(hls as unknown as Hls, 'http://h/master.m3u8', page(t), {
    jumpToLive: (reason) => jumps.push(reason),
  });
  hls.emit('hlsManifestParsed');
  return { hls, room, jumps };
}

describe('RoomParticipants', () => {
  it('lists the STABLE-VARIANT-IDs of a master once each, in order', () => {
    const text = `${MASTER}#EXT-X-STREAM-INF:BANDWIDTH=1,STABLE-VARIANT-ID="1"\n1/video/index.m3u8\n`;
    assert.deepEqual(participantsOf(text), ['1', '2']);
    assert.deepEqual(participantsOf('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nvideo/index.m3u8\n'), []);
  });

  it('replaces a leaver with the first participant listed whose stream did not end too', () => {
    assert.equal(replacementFor(['1', '2', '3'], '1', new Set()), '2');
    assert.equal(replacementFor(['1', '2', '3'], '1', new Set(['2'])), '3');
    assert.equal(replacementFor(['1'], '1', new Set()), null);
  });

  it('a room viewer stalled after the participant it watched left: the playlist ending switches at once and jumps to the live edge', (t) => {
    const { hls, room, jumps } = picker(t);
    assert.deepEqual(room.state().chosen, '1');
    room.choose('2');
    assert.equal(hls.currentLevel, 1);
    hls.buffered(1);
    assert.deepEqual(jumps, [], 'a participant chosen by the viewer plays from where it is');

    // 2 left: its playlist ends (ENDLIST) before the master is fetched again.
    hls.playlist(1, false);
    assert.equal(room.state().chosen, '1', 'the first one still streaming plays at once');
    assert.equal(hls.currentLevel, 0);
    hls.buffered(1);
    hls.playlist(0, true);
    hls.buffered(0, 'audio');
    assert.deepEqual(jumps, [], "no jump before the replacement's media is buffered");
    hls.buffered(0);
    assert.deepEqual(jumps, ['participant 1 replaces a leaver']);
    hls.buffered(0);
    assert.equal(jumps.length, 1, 'one jump per replacement');
    assert.equal(hls.sources, 0, 'both were among the levels: no reload');
  });

  it('a participant playing dropped from the master is replaced, from the live edge', async (t) => {
    const { hls, room, jumps } = picker(t);
    room.choose('2');
    served = MASTER.replace(/#EXT-X-STREAM-INF:[^\n]*"2"\n2\/video\/index.m3u8\n/, '');
    t.mock.timers.tick(REFRESH_MS);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(room.state(), { chosen: '1', listed: ['1'] });
    assert.equal(hls.currentLevel, 0);
    hls.buffered(0);
    assert.deepEqual(jumps, ['participant 1 replaces a leaver']);
  });

  it('the playlist of a participant not watched ending changes nothing', (t) => {
    const { hls, room, jumps } = picker(t);
    hls.playlist(1, false);
    assert.equal(room.state().chosen, '1');
    assert.equal(hls.currentLevel, 0);
    assert.deepEqual(jumps, []);
  });
});
