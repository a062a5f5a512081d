import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ParticipantId } from '../../lib/ids.ts';
import { envelope, parseQualityRequest } from './data-channels.ts';

describe('data channel messages', () => {
  it('track_quality requests: UTF-8 JSON {trackId, quality 0-3}, binary or string; anything else is refused', () => {
    const ok = { trackId: 'video-1', quality: 1 };
    assert.deepEqual(parseQualityRequest(Buffer.from(JSON.stringify(ok))), ok);
    assert.deepEqual(parseQualityRequest(JSON.stringify({ ...ok, quality: 0, extra: true })), {
      trackId: 'video-1',
      quality: 0,
    });
    const bad: Array<Buffer | string> = [
      '',
      'not json',
      'null',
      '[1]',
      '{"trackId":"v"}',
      '{"trackId":"v","quality":null}',
      '{"trackId":"v","quality":4}',
      '{"trackId":"v","quality":1.5}',
      '{"trackId":"v","quality":"1"}',
      '{"trackId":"","quality":1}',
      '{"trackId":7,"quality":1}',
      JSON.stringify({ trackId: 'x'.repeat(300), quality: 1 }),
      JSON.stringify({ trackId: 'v', quality: 1, pad: 'x'.repeat(2000) }),
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    ];
    for (const m of bad) assert.equal(parseQualityRequest(m), undefined, String(m));
  });

  it('relay envelope: strings as {"from","data"} JSON, binary as [1][id length][id][payload]', () => {
    const from = '42' as ParticipantId;
    assert.deepEqual(JSON.parse(envelope(from, 'hi') as string), { from: '42', data: 'hi' });
    const out = envelope(from, Buffer.from([9, 8, 7])) as Buffer;
    assert.deepEqual([...out], [1, 2, 0x34, 0x32, 9, 8, 7]);
    assert.deepEqual([...(envelope(from, Buffer.alloc(0)) as Buffer)], [1, 2, 0x34, 0x32]);
    assert.equal(envelope('x'.repeat(256) as ParticipantId, Buffer.alloc(1)), undefined);
  });
});
