// sfu: the Selective Forwarding Unit: rooms, publishers, subscribers, track forwarding. Implements SfuApi.
// May import transport/ (interface), protocol/, rtp/, lib/; never signalling/, dispatcher/, rpc/.

export { announcedIps, createSfu, type SfuOptions, type StartedSfu } from './create-sfu.ts';
export type {
  CreateEgress,
  EgressBackend,
  EgressHttp,
  EgressSettings,
  EgressSource,
  PublisherTap,
  TapFeedback,
  TapMessage,
} from './egress-backend.ts';
export { Sfu } from './sfu.ts';
export { unavailableSfu } from './unavailable-sfu.ts';
