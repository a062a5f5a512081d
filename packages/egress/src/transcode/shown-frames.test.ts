import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vp9Superframe } from '../media/vp9-bitstream.ts';
import { shownPictures } from './shown-frames.ts';

// VP9 profile 0 first header bytes (§6.2): frame marker 2, profile 0, show_existing 0, frame type,
// show_frame: 0x86 an inter frame shown, 0x84 one hidden, 0x82 a keyframe shown.
const shown = Buffer.from([0x86, 0, 0]);
const hidden = Buffer.from([0x84, 0, 0]);
const key = Buffer.from([0x82, 0x49, 0x83]);

describe('shownPictures', () => {
  it('regression: a VP9 SVC superframe is one picture (libvpx), not one per shown layer frame', () => {
    assert.equal(shownPictures('vp9', key), 1);
    assert.equal(shownPictures('vp9', hidden), 0);
    // An SVC picture: every layer frame shown, libvpx outputs the top one only.
    assert.equal(shownPictures('vp9', vp9Superframe([key, shown, shown])), 1);
    // A hidden alt-ref, then the shown frame.
    assert.equal(shownPictures('vp9', vp9Superframe([hidden, shown])), 1);
    assert.equal(shownPictures('vp9', vp9Superframe([shown, hidden])), 0);
  });

  it('VP8: show_frame of the frame tag; AV1: one picture a temporal unit', () => {
    assert.equal(shownPictures('vp8', Buffer.from([0x10, 0, 0])), 1);
    assert.equal(shownPictures('vp8', Buffer.from([0x00, 0, 0])), 0);
    assert.equal(shownPictures('av1', Buffer.from([0x12, 0])), 1);
  });
});
