import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activeEncodings, parseLayersWanted, wantsBackup } from './backup-codec.ts';

describe('backup codec (SDK)', () => {
  it('a camera in H264 or VP9 sends a VP8 backup unless told not to; one in VP8 needs none', () => {
    assert.equal(wantsBackup({ simulcast: true, codec: 'H264' }), true);
    assert.equal(wantsBackup({ simulcast: false, codec: 'VP9' }), true);
    assert.equal(wantsBackup({ simulcast: true, codec: 'H264', backupCodec: false }), false);
    assert.equal(wantsBackup({ simulcast: true, codec: 'VP8' }), false);
  });

  it('reads track_quality with or without a codec, from text or bytes, and refuses the rest', () => {
    const bytes = new TextEncoder().encode(
      JSON.stringify({ trackId: 'cam', quality: 3, subscribedCount: 1, codec: 'VP8' }),
    );
    assert.deepEqual(parseLayersWanted(bytes.buffer), {
      trackId: 'cam',
      quality: 3,
      subscribedCount: 1,
      codec: 'vp8',
    });
    assert.deepEqual(parseLayersWanted('{"trackId":"cam","quality":2}'), {
      trackId: 'cam',
      quality: 2,
      subscribedCount: undefined,
      codec: undefined,
    });
    for (const bad of ['not json', 'null', '{"trackId":1,"quality":2}', '{"trackId":"cam"}'])
      assert.equal(parseLayersWanted(bad), undefined, bad);
  });

  it("the camera's lowest layer always stays on; its backup is off while nobody receives it", () => {
    const camera = { trackId: 'cam', subscribedCount: 0, codec: undefined };
    assert.deepEqual(activeEncodings({ ...camera, quality: 0 }, 3), [true, false, false]);
    assert.deepEqual(activeEncodings({ ...camera, quality: 2 }, 3), [true, true, false]);
    const backup = { trackId: 'cam', codec: 'vp8' };
    assert.deepEqual(activeEncodings({ ...backup, quality: 3, subscribedCount: 1 }, 3), [true, true, true]);
    // Dynacast still says 3 (its layers stop after a delay), but the last receiver has gone.
    assert.deepEqual(activeEncodings({ ...backup, quality: 3, subscribedCount: 0 }, 3), [
      false,
      false,
      false,
    ]);
    assert.deepEqual(activeEncodings({ ...backup, quality: 0, subscribedCount: 0 }, 1), [false]);
    assert.deepEqual(activeEncodings({ ...backup, quality: 1, subscribedCount: 2 }, 1), [true]);
  });
});
