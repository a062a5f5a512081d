// SDP offer/answer for the SFU (RFC 8829): parsing peers' descriptions, answering publishers,
// offering to subscribers and answering their offers (WHEP). Part of transport/.
export {
  type CodecParameters,
  EXTENSION_URI,
  FORWARDED_EXTENSIONS,
  findCapability,
  type HeaderExtension,
  SERVER_CAPABILITIES,
} from './capabilities.ts';
export {
  type MediaSection,
  parseRemoteDescription,
  type RemoteDescription,
  remoteTransportParameters,
} from './parse.ts';
export {
  createPublisherAnswer,
  isDataChannelSection,
  type NegotiatedDataChannels,
  type PublishedTrackInfo,
  type VideoCodecPicker,
} from './publisher-answer.ts';
export {
  type AnsweredTrack,
  type AnswerSource,
  createSubscriberAnswer,
  receiveCodecsOf,
} from './subscriber-answer.ts';
export {
  createSubscriberOffer,
  DATA_CHANNEL_MID,
  type OfferedTrack,
  parseSubscriberAnswer,
  type RefusedTrack,
  type SubscriberSdpState,
} from './subscriber-offer.ts';
