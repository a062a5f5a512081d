import type { MediaState } from '../../src/protocol/sfu-api.ts';

export function defaultTestMediaState(): MediaState {
  return {
    videoEnabled: true,
    audioEnabled: true,
    e2eeEnabled: false,
    cameraType: 0,
    screenSharing: false,
    screenTrackId: null,
    handRaising: false,
  };
}
