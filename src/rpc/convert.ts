// Conversions between the SfuApi types (protocol/sfu-api.ts) and the generated sfu.proto messages,
// one file per message group; this file is their one face for the gRPC server and client.
// `*FromProto` functions read what came over the network: they validate and throw
// SfuError('invalid_argument') naming the field; `*ToProto` functions trust their (typed) input.

export { dumpFromProto, dumpToProto } from './convert-dump.ts';
export { eventFromProto, eventToProto } from './convert-events.ts';
export {
  mediaStateRequestFromProto,
  mediaStateRequestToProto,
  mediaStateToProto,
} from './convert-media-state.ts';
export {
  candidateToProto,
  joinFromProto,
  joinToProto,
  leaveFromProto,
  publisherCandidateFromProto,
  publisherOfferFromProto,
  subscribeFromProto,
  subscriberAnswerFromProto,
  subscriberAnswerResponseFromProto,
  subscriberCandidateFromProto,
  subscribeToProto,
} from './convert-requests.ts';
export { MAX_SDP_BYTES, roomIdFromProto } from './proto-fields.ts';
