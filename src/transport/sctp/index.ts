// WebRTC data channels (RFC 8831) for our transport: SCTP over DTLS (RFC 8261, RFC 8841) run by
// werift-sctp behind SctpAssociation, DCEP (RFC 8832) and packet checks of our own. Part of
// transport/; imports nothing from the rest of src/.
export {
  buildDataChannelAck,
  buildDataChannelOpen,
  type DataChannelParameters,
  Ppid,
  parseDcep,
} from './dcep.ts';
export { buildSctpPacket, checkSctpPacket, sctpChecksum } from './packet.ts';
export {
  DataChannel,
  type DataChannelOptions,
  type DataChannelState,
  DEFAULT_SCTP_PORT,
  LOCAL_MAX_MESSAGE_SIZE,
  SctpAssociation,
  type SctpStats,
} from './sctp-association.ts';
