// sfu: the Selective Forwarding Unit: rooms, publishers, subscribers, track forwarding. Implements SfuApi.
// May import transport/ (interface), protocol/, rtp/, lib/; never signalling/, dispatcher/, rpc/.

export { announcedIps, createSfu, type SfuOptions } from './create-sfu.ts';
export { Sfu } from './sfu.ts';
export { unavailableSfu } from './unavailable-sfu.ts';
