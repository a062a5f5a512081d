// protocol: the typed contracts between modules (SfuApi) and the wire shapes of the Waterbus protocol.
// May import lib/ only.

export { dumpCounts } from './dump-counts.ts';
export type * from './egress.ts';
export { egressKindOfStreamingProtocol, emptyEgressStats, sumEgressStats } from './egress.ts';
export type { MuteKinds, ParticipantControl } from './participant-control.ts';
export type { EvictionReason, RoomBroadcaster } from './room-broadcaster.ts';
export type * from './sfu-api.ts';
export { defaultMediaState } from './sfu-api.ts';
export type * from './webhook-events.ts';
