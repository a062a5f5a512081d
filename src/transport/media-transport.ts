/**
 * The media seam between the SFU and our WebRTC transport: one ICE-lite + DTLS + SRTP association
 * with one remote peer, carrying RTP/RTCP as raw buffers. The SFU never sees STUN, DTLS or keys.
 *
 * Lifecycle: new → connecting (first valid STUN check) → connected (DTLS done, SRTP keys set) →
 * closed (by `close()`, a DTLS failure, or consent freshness expiring). Once closed it stays closed.
 */
export interface MediaTransport {
  readonly id: string;
  readonly state: TransportState;
  /** What goes into our SDP: ICE credentials, DTLS fingerprint and role, host candidates. */
  readonly localParameters: LocalTransportParameters;
  /** The peer's ICE credentials and DTLS fingerprints, from its SDP; starts DTLS when connected. */
  setRemoteParameters(params: RemoteTransportParameters): void;
  /**
   * Decrypted RTP/RTCP from the peer. `packet` is only valid during the call (its memory is
   * reused): copy what must outlive it.
   */
  onRtp: ((packet: Buffer) => void) | null;
  onRtcp: ((packet: Buffer) => void) | null;
  onStateChange: ((state: TransportState, reason?: CloseReason) => void) | null;
  /** Encrypts and sends; drops silently before `connected` or after `closed` (counted). */
  sendRtp(packet: Buffer): void;
  sendRtcp(packet: Buffer): void;
  close(): void;
  readonly stats: TransportStats;
}

export type TransportState = 'new' | 'connecting' | 'connected' | 'closed';
export type CloseReason = 'closed' | 'consent_timeout' | 'dtls_failed' | 'worker_stopped';

export interface IceCandidateInfo {
  foundation: string;
  component: 1;
  protocol: 'udp' | 'tcp';
  priority: number;
  ip: string;
  port: number;
  type: 'host';
  /** ICE-TCP (RFC 6544 §4.5): we only accept connections. */
  tcpType?: 'passive';
}

export interface LocalTransportParameters {
  iceUfrag: string;
  icePwd: string;
  iceLite: true;
  fingerprint: { algorithm: 'sha-256'; value: string };
  /** We answer `passive` to offers (the browser is the DTLS client); we offer `actpass`. */
  candidates: IceCandidateInfo[];
}

export interface RemoteTransportParameters {
  iceUfrag: string;
  icePwd: string;
  fingerprints: Array<{ algorithm: string; value: string }>;
  /**
   * The peer's `a=setup` (RFC 8842 §5.2): `active` makes us the DTLS server (the usual answer of a
   * browser), `passive` makes us the client; `actpass` in a browser's offer: we answer passive.
   */
  setup: 'active' | 'passive' | 'actpass';
}

export interface TransportStats {
  rtpPacketsReceived: number;
  rtpPacketsSent: number;
  rtcpPacketsReceived: number;
  rtcpPacketsSent: number;
  bytesReceived: number;
  bytesSent: number;
  /** Malformed or undecryptable packets, dropped. */
  packetsDropped: number;
}
