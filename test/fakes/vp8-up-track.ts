import { UpTrack } from '../../src/sfu/media/up-track.ts';
import { ManualClock } from './manual-clock.ts';

type UpTrackOptions = ConstructorParameters<typeof UpTrack>[0];

/** Transport-wide congestion control's header extension, as Chromium numbers it. */
export const TWCC_EXTENSION = {
  uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  id: 5,
};

/**
 * An UpTrack for unit tests: by default a VP8 camera (track 'cam' of stream 'stream', mid 0, one
 * layer, payload type 96) on a ManualClock of its own, its PLIs dropped; `options` replace any of it.
 */
export function vp8UpTrack(options: Partial<UpTrackOptions> = {}): UpTrack {
  return new UpTrack({
    trackId: 'cam',
    streamId: 'stream',
    mid: '0',
    kind: 'video',
    codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} },
    rids: [],
    clock: new ManualClock(),
    sendPli: () => undefined,
    ...options,
  });
}
