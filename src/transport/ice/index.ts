// transport/ice: STUN (RFC 8489) messages for ICE (RFC 8445) and the ICE-lite agent that answers the browser's checks.

export { crc32 } from './crc32.ts';
export {
  type CheckOutcome,
  CONSENT_TIMEOUT_MS,
  IceLiteAgent,
  iceString,
  type PacketStream,
  type RemoteAddress,
} from './ice-lite-agent.ts';
export * from './stun.ts';
export {
  type IpFamily,
  ipv4Bytes,
  ipv6Bytes,
  readXorMappedAddress,
  type TransportAddress,
  xorMappedAddressValue,
} from './stun-address.ts';
