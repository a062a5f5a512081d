import { mediaCounters, mediaCounting } from '../lib/media-counters.ts';
import { isRtcp, isValidRtcp } from '../rtp/rtp-packet.ts';
import type { DatagramSender } from './datagram-sender.ts';
import type { DtlsCertificate } from './dtls/dtls-certificate.ts';
import type { DtlsSession, SrtpKeys } from './dtls/dtls-session.ts';
import { IceLiteAgent, type RemoteAddress } from './ice/ice-lite-agent.ts';
import type { StunMessage } from './ice/stun.ts';
import type {
  CloseReason,
  IceCandidateInfo,
  LocalTransportParameters,
  MediaTransport,
  RemoteTransportParameters,
  TransportState,
  TransportStats,
} from './media-transport.ts';
import { RECEIVE_VIEWS } from './receive-views.ts';
import { SctpAssociation } from './sctp/sctp-association.ts';
import type { SrtpFailure } from './srtp/profiles.ts';
import { SrtpSession } from './srtp/srtp-session.ts';
import { dtlsRole, isClientHello, sha256Fingerprints, startDtls } from './transport-dtls.ts';
import { ValidPaths } from './valid-paths.ts';

/** The largest SRTP tag (AEAD_AES_128_GCM's): room asked for before the keys are known. */
const MAX_SRTP_TAG_BYTES = 16;

/**
 * One WebRTC association on the worker's shared UDP port: ICE-lite → DTLS → SRTP, carrying RTP and
 * RTCP (BUNDLE, rtcp-mux). DTLS is started in transport-dtls.ts. See MediaTransport for the lifecycle.
 */
export class WebRtcTransport implements MediaTransport {
  readonly id: string;
  readonly agent = new IceLiteAgent();
  onRtp: ((packet: Buffer) => void) | null = null;
  onRtcp: ((packet: Buffer) => void) | null = null;
  onStateChange: ((state: TransportState, reason?: CloseReason) => void) | null = null;
  readonly stats: TransportStats = {
    rtpPacketsReceived: 0,
    rtpPacketsSent: 0,
    rtcpPacketsReceived: 0,
    rtcpPacketsSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    packetsDropped: 0,
  };
  readonly createdMs: number;
  #state: TransportState = 'new';
  #remote: RemoteTransportParameters | undefined;
  #dtls: DtlsSession | undefined;
  #send: SrtpSession | undefined;
  #receive: SrtpSession | undefined;
  /**
   * The agent's selected address, copied here when a check may have moved it (handleStun): every
   * packet sent reads it, and with a thousand transports the agent's object is one more cache
   * miss per packet.
   */
  #to: RemoteAddress | undefined;
  readonly #sender: DatagramSender<WebRtcTransport>;
  readonly #certificate: DtlsCertificate;
  readonly #candidates: IceCandidateInfo[];
  /** Data channels (SCTP over DTLS), when the SDP negotiated an m=application section. */
  #sctp: SctpAssociation | undefined;
  /** The peer's other checked addresses, routed to us too. */
  readonly #paths: ValidPaths<WebRtcTransport>;

  constructor(options: {
    id: string;
    sender: DatagramSender<WebRtcTransport>;
    certificate: DtlsCertificate;
    candidates: IceCandidateInfo[];
    nowMs: number;
  }) {
    this.id = options.id;
    this.#sender = options.sender;
    this.#certificate = options.certificate;
    this.#candidates = options.candidates;
    this.createdMs = options.nowMs;
    this.#paths = new ValidPaths(options.sender, this);
  }

  get state(): TransportState {
    return this.#state;
  }

  get localParameters(): LocalTransportParameters {
    return {
      iceUfrag: this.agent.localUfrag,
      icePwd: this.agent.localPwd,
      iceLite: true,
      fingerprint: { algorithm: 'sha-256', value: this.#certificate.fingerprint },
      candidates: this.#candidates,
    };
  }

  /**
   * The peer's parameters from its SDP. New ICE credentials in a later offer are an ICE restart
   * (RFC 8445 §9): we take new ones too (call this before writing the answer); the DTLS
   * association and SRTP keys carry on over the new path.
   */
  setRemoteParameters(params: RemoteTransportParameters): void {
    if (this.#state === 'closed') return;
    const first = this.#remote === undefined;
    const restarted = !first && this.#remote!.iceUfrag !== params.iceUfrag;
    this.#remote = params;
    this.agent.setRemoteCredentials(params.iceUfrag);
    if (restarted) {
      const previousUfrag = this.agent.localUfrag;
      this.agent.restart();
      this.#sender.reindex(this, previousUfrag);
      return;
    }
    if (!this.#dtls) {
      if (this.agent.selected) this.#startDtls();
      return;
    }
    // A later answer (renegotiation) leaves the association as it is.
    if (!first) return;
    // The handshake began before this SDP (the peer's ClientHello came first): a peer that said
    // it would be the DTLS server contradicts it; otherwise its certificate is checked now.
    if (params.setup === 'passive') this.close('dtls_failed');
    else this.#dtls.setRemoteFingerprints(sha256Fingerprints(params));
  }

  /** The data channels' SCTP association, once `enableDataChannels` was called. */
  get dataChannels(): SctpAssociation | undefined {
    return this.#sctp;
  }

  /**
   * The SDP negotiated data channels (RFC 8841): an SCTP association runs over our DTLS once it
   * is up. Call after setRemoteParameters (the peer's a=setup decides our DTLS role, hence the
   * channels' stream ids); a second call returns the same association.
   */
  enableDataChannels(options: {
    remotePort?: number | undefined;
    maxMessageSize?: number | undefined;
  }): SctpAssociation | undefined {
    if (this.#state === 'closed' || !this.#remote) return undefined;
    if (this.#sctp) return this.#sctp;
    this.#sctp = new SctpAssociation({
      dtlsRole: dtlsRole(this.#remote),
      remotePort: options.remotePort,
      remoteMaxMessageSize: options.maxMessageSize,
      send: (packet) => {
        if (mediaCounting.on) {
          mediaCounters.sctpPacketsSent++;
          mediaCounters.sctpBytesSent += packet.length;
        }
        this.#dtls?.sendData(packet);
      },
    });
    if (this.#send) this.#sctp.start();
    return this.#sctp;
  }

  /** A STUN message for our ufrag (the endpoint demultiplexed it). */
  handleStun(msg: StunMessage, from: RemoteAddress, nowMs: number): void {
    if (this.#state === 'closed') return;
    const previous = this.agent.selected;
    const outcome = this.agent.handleCheck(msg, from, nowMs);
    this.#to = this.agent.selected;
    if (outcome.kind === 'ignored') {
      this.stats.packetsDropped++;
      if (mediaCounting.on) mediaCounters.droppedIceCheckRefused++;
      return;
    }
    if (mediaCounting.on) {
      mediaCounters.stunPacketsSent++;
      mediaCounters.stunBytesSent += outcome.response.length;
    }
    this.#sender.send(outcome.response, from);
    if (outcome.kind !== 'response') return;
    const selected = this.agent.selected!;
    if (previous === undefined || previous.address !== selected.address || previous.port !== selected.port) {
      this.#sender.routeFrom(this, selected, previous);
      this.#paths.selectionMoved(previous, selected);
    }
    this.#paths.checked(from, selected);
    if (this.#state === 'new') {
      if (mediaCounting.on) mediaCounters.iceCompleted++;
      this.#setState('connecting');
    }
    if (this.#remote && !this.#dtls) this.#startDtls();
  }

  /**
   * When the packet being handled now (during onRtp/onRtcp) reached this host, in performance.now()
   * microseconds, into out[0]: the kernel's receive time where the endpoint has it.
   */
  readArrivalUs(out: Float64Array): void {
    this.#sender.readArrivalUs(out);
  }

  /**
   * A DTLS record from the selected address. A ClientHello before the peer's SDP (it answers our
   * offer with a=setup:active and starts DTLS as soon as ICE is up, while its answer is still on
   * its way through signalling) starts our server side at once instead of being dropped: the
   * handshake then overlaps the signalling, and the peer need not retransmit it.
   */
  handleDtls(datagram: Buffer): void {
    if (!this.#dtls && !this.#remote && this.#state === 'connecting' && isClientHello(datagram))
      this.#startDtls();
    this.#dtls?.handle(datagram);
  }

  /** An SRTP or SRTCP packet from the selected address. */
  handleSrtp(datagram: Buffer): void {
    const receive = this.#receive;
    if (!receive) {
      this.stats.packetsDropped++;
      if (mediaCounting.on) mediaCounters.droppedNotConnected++;
      return;
    }
    this.stats.bytesReceived += datagram.length;
    // Decrypted in place: the datagram is ours, and a refused one is left untouched.
    if (isRtcp(datagram)) {
      const length = isValidRtcp(datagram) ? receive.unprotectRtcp(datagram) : 'malformed';
      if (typeof length === 'string') {
        this.#dropped(length);
        return;
      }
      this.stats.rtcpPacketsReceived++;
      this.onRtcp?.(datagram.subarray(0, length));
      return;
    }
    // Decrypted into the thread's receive buffer, handed on as a view made once per length.
    const packet = RECEIVE_VIEWS.unprotectRtp(receive, datagram);
    if (typeof packet === 'string') {
      this.#dropped(packet);
      return;
    }
    this.stats.rtpPacketsReceived++;
    RECEIVE_VIEWS.deliver(this.onRtp, packet);
  }

  sendRtp(packet: Buffer): void {
    const to = this.#to;
    const send = this.#send;
    if (!send || !to) {
      this.stats.packetsDropped++;
      if (mediaCounting.on) mediaCounters.droppedNotConnected++;
      return;
    }
    // Protected straight into the endpoint's send queue (or a fresh buffer without the addon).
    const out = this.#sender.claim(packet.length + send.rtpOverheadBytes);
    this.#sealAndSend(to, out, send.protectRtp(packet, out));
  }

  /**
   * A buffer to build an RTP packet of up to `bytes` in, in place, with room for the SRTP tag
   * after it: a slot of the endpoint's send queue, or a fresh buffer. Hand it to sendRtpInPlace
   * (or drop it) before asking for another or sending anything else.
   */
  rtpBuffer(bytes: number): Buffer {
    return this.#sender.claim(bytes + (this.#send?.rtpOverheadBytes ?? MAX_SRTP_TAG_BYTES));
  }

  /** Sends the RTP packet buf[0..length) built in rtpBuffer(): protected in place, no copy. */
  sendRtpInPlace(buf: Buffer, length: number): void {
    const to = this.#to;
    const send = this.#send;
    if (!send || !to) {
      this.stats.packetsDropped++;
      if (mediaCounting.on) mediaCounters.droppedNotConnected++;
      return;
    }
    this.#sealAndSend(to, buf, send.protectRtpInPlace(buf, length));
  }

  #sealAndSend(to: RemoteAddress, out: Buffer, length: number | SrtpFailure): void {
    if (typeof length === 'string') {
      this.stats.packetsDropped++;
      if (mediaCounting.on) mediaCounters.droppedProtectFailed++;
      return;
    }
    this.stats.rtpPacketsSent++;
    this.stats.bytesSent += length;
    if (mediaCounting.on) {
      mediaCounters.rtpPacketsSent++;
      mediaCounters.rtpBytesSent += length;
    }
    this.#sender.sendClaimed(out, length, to);
  }

  sendRtcp(packet: Buffer): void {
    const to = this.#to;
    const send = this.#send;
    if (!send || !to || !isValidRtcp(packet)) {
      this.stats.packetsDropped++;
      if (mediaCounting.on) mediaCounters.droppedNotConnected++;
      return;
    }
    const out = this.#sender.claim(packet.length + send.rtcpOverheadBytes);
    const length = send.protectRtcp(packet, out);
    if (typeof length === 'string') {
      this.stats.packetsDropped++;
      if (mediaCounting.on) mediaCounters.droppedProtectFailed++;
      return;
    }
    this.stats.rtcpPacketsSent++;
    this.stats.bytesSent += length;
    if (mediaCounting.on) {
      mediaCounters.rtcpPacketsSent++;
      mediaCounters.rtcpBytesSent += length;
    }
    this.#sender.sendClaimed(out, length, to);
  }

  close(reason: CloseReason = 'closed'): void {
    if (this.#state === 'closed') return;
    // Why: a transport closed for silence before any valid check is an ICE connection that never came.
    if (mediaCounting.on && reason === 'consent_timeout' && this.#state === 'new') mediaCounters.iceFailed++;
    this.#sctp?.close();
    this.#dtls?.close();
    this.#dtls = undefined;
    this.#send = undefined;
    this.#receive = undefined;
    this.#paths.clear(this.agent.selected);
    this.#sender.forget(this);
    this.#setState('closed', reason);
  }

  /** Starts DTLS; without the peer's SDP yet, as the server (the peer sent a ClientHello). */
  #startDtls(): void {
    this.#dtls = startDtls({
      certificate: this.#certificate,
      remote: this.#remote,
      agent: this.agent,
      sender: this.#sender,
      onConnected: (keys) => this.#onDtlsConnected(keys),
      onFailed: () => this.close('dtls_failed'),
      onData: (data) => this.#sctp?.handle(data),
    });
  }

  #onDtlsConnected(keys: SrtpKeys): void {
    if (this.#state === 'closed') return;
    if (mediaCounting.on) mediaCounters.dtlsCompleted++;
    this.#send = new SrtpSession(keys.profile, keys.localKey, keys.localSalt);
    this.#receive = new SrtpSession(keys.profile, keys.remoteKey, keys.remoteSalt);
    this.#setState('connected');
    this.#sctp?.start();
  }

  /** An SRTP or SRTCP packet refused by its session: counted by why. */
  #dropped(failure: SrtpFailure | 'malformed'): void {
    this.stats.packetsDropped++;
    if (!mediaCounting.on) return;
    if (failure === 'auth_failed') mediaCounters.droppedSrtpAuth++;
    else if (failure === 'replayed') mediaCounters.droppedReplay++;
    else mediaCounters.droppedMalformedSrtp++;
  }

  #setState(state: TransportState, reason?: CloseReason): void {
    this.#state = state;
    this.onStateChange?.(state, reason);
  }
}
