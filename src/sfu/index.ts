// sfu: the Selective Forwarding Unit: rooms, publishers, subscribers, track forwarding. Implements SfuApi.
// May import transport/ (interface), protocol/, rtp/, lib/; never signalling/, dispatcher/, rpc/.
export { unavailableSfu } from './unavailable-sfu.ts';
