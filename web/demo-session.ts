// What the demo page was opened with (its query parameters) and what it holds during a call.
import type { Client, LocalMedia, Room, VideoCodec } from '../src/sdk/index.ts';
import type { EgressControls } from './egress-controls.ts';

export const params = new URLSearchParams(location.search);
/** Capture height: ?res=180|360|720 (default 720). */
export const captureHeight = Number(params.get('res') ?? 720) || 720;
export const simulcast = params.get('simulcast') !== '0';
export const codec = (params.get('codec')?.toUpperCase() ?? 'VP8') as VideoCodec;
/** ?backup=0: no VP8 backup of a camera in another codec (docs/sdk.md). */
export const backupCodec = params.get('backup') !== '0';
/** ?relay=1: media only through the server's TURN relays (to try a TURN deployment). */
export const relayOnly = params.get('relay') === '1';

/** The page's call: the camera and microphone, the connection, the room, the toggles. */
export const session: {
  local: LocalMedia | null;
  client: Client | null;
  room: Room | null;
  micOn: boolean;
  camOn: boolean;
  /** Set when we leave on purpose (no "connection lost" page). */
  leaving: boolean;
  egress: EgressControls | null;
} = { local: null, client: null, room: null, micOn: true, camOn: true, leaving: false, egress: null };
