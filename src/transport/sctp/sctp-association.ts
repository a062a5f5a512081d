import sctpLib, { type SCTP as SctpImpl } from 'werift-sctp';
import {
  buildDataChannelAck,
  buildDataChannelOpen,
  type DataChannelParameters,
  Ppid,
  parseDcep,
} from './dcep.ts';
import { checkSctpPacket } from './packet.ts';

const { SCTP } = sctpLib;

/** RFC 8841 §5: the SCTP port both sides use unless the SDP says otherwise. */
export const DEFAULT_SCTP_PORT = 5000;
/** What we accept (a=max-message-size, RFC 8841 §6): Chromium's own default. */
export const LOCAL_MAX_MESSAGE_SIZE = 262_144;
/** Channels per association; stream ids above are refused. */
const MAX_STREAMS = 1024;
/**
 * Messages handed to the library at once. werift-sctp slows down quadratically with the number of
 * unfinished sends (400 at once: ~3 s; in windows of 16: 2000 in 0.3-0.6 s), so we queue the rest.
 */
const MAX_SENDS_IN_FLIGHT = 8;
/**
 * werift-sctp advertises a 1 MiB receive window but never enforces it: a peer that ignores it (or
 * never finishes a fragmented message) would grow its reassembly buffers without bound. Past this
 * much undelivered data the association is aborted.
 */
const MAX_UNDELIVERED_BYTES = 4 * 1024 * 1024;
const LIBRARY_RWND = 1024 * 1024;
/** Beyond this much queued, messages are dropped (counted), as a browser's bufferedAmount would grow. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

export type DataChannelState = 'connecting' | 'open' | 'closed';

export interface DataChannelOptions {
  ordered?: boolean;
  maxRetransmits?: number;
  maxPacketLifeTimeMs?: number;
  protocol?: string;
}

export interface SctpStats {
  packetsReceived: number;
  /** Malformed SCTP packets (framing, checksum, unknown chunk) or ones the association refused. */
  packetsDropped: number;
  /** DCEP messages we could not read, user messages on streams with no channel. */
  messagesDropped: number;
  messagesReceived: number;
  messagesSent: number;
}

/**
 * One WebRTC data channel (RFC 8831) on an SCTP stream. `onMessage` gets binary messages as
 * Buffers and string messages as strings.
 */
export class DataChannel {
  readonly id: number;
  readonly label: string;
  readonly protocol: string;
  readonly ordered: boolean;
  readonly maxRetransmits: number | undefined;
  readonly maxPacketLifeTimeMs: number | undefined;
  onOpen: (() => void) | null = null;
  onMessage: ((data: Buffer | string) => void) | null = null;
  onClose: (() => void) | null = null;
  #state: DataChannelState;
  /** Until the peer's DATA_CHANNEL_ACK, messages go ordered (RFC 8832 §6). */
  #acked: boolean;
  readonly #association: SctpAssociation;

  constructor(association: SctpAssociation, id: number, p: DataChannelParameters, acked: boolean) {
    this.#association = association;
    this.id = id;
    this.label = p.label;
    this.protocol = p.protocol;
    this.ordered = p.ordered;
    this.maxRetransmits = p.maxRetransmits;
    this.maxPacketLifeTimeMs = p.maxPacketLifeTimeMs;
    this.#acked = acked;
    this.#state = 'connecting';
  }

  get state(): DataChannelState {
    return this.#state;
  }

  /** Sends a message; false (dropped) unless open, or when larger than the peer accepts. */
  send(data: Buffer | string): boolean {
    if (this.#state !== 'open') return false;
    return this.#association.sendMessage(this, data, this.#acked);
  }

  /** Closes the channel: the outgoing stream is reset (RFC 8831 §6.7) and the peer resets its own. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#association.resetStream(this.id);
    this.markClosed();
  }

  /** @internal */
  markOpen(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'open';
    this.onOpen?.();
  }

  /** @internal */
  markAcked(): void {
    this.#acked = true;
  }

  /** @internal */
  markClosed(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#association.forget(this.id);
    this.onClose?.();
  }
}

/**
 * SCTP over DTLS (RFC 8261 / RFC 8841) for one WebRtcTransport, with DCEP (RFC 8832) on top. The
 * association itself (handshake, retransmission, SACKs, fragmentation, partial reliability, stream
 * reset) is werift-sctp's; we check every packet's framing before it gets there and own the
 * channels.
 *
 * Lifecycle: created when the SDP negotiated data channels → `start()` once DTLS is up (the DTLS
 * client also sends the INIT) → channels open from either side → `close()` with the transport.
 */
export class SctpAssociation {
  readonly stats: SctpStats = {
    packetsReceived: 0,
    packetsDropped: 0,
    messagesDropped: 0,
    messagesReceived: 0,
    messagesSent: 0,
  };
  /** A channel the peer opened (DATA_CHANNEL_OPEN received and acknowledged). */
  onDataChannel: ((channel: DataChannel) => void) | null = null;
  readonly #channels = new Map<number, DataChannel>();
  readonly #remotePort: number;
  readonly #remoteMaxMessageSize: number;
  readonly #isDtlsClient: boolean;
  readonly #transport: {
    onData?: ((data: Buffer) => void) | undefined;
    send: (data: Buffer) => Promise<void>;
    close: () => void;
  };
  #sctp: SctpImpl | undefined;
  #connected = false;
  #closed = false;
  #nextId: number;
  #sendsInFlight = 0;
  readonly #sendQueue: Array<{ bytes: number; run: () => Promise<void> }> = [];
  #queuedBytes = 0;

  constructor(options: {
    /** Our DTLS role: the client takes even stream ids, the server odd ones (RFC 8832 §6). */
    dtlsRole: 'client' | 'server';
    remotePort?: number | undefined;
    remoteMaxMessageSize?: number | undefined;
    /** Sends one SCTP packet as DTLS application data. */
    send: (packet: Buffer) => void;
  }) {
    this.#isDtlsClient = options.dtlsRole === 'client';
    this.#nextId = this.#isDtlsClient ? 0 : 1;
    this.#remotePort = options.remotePort ?? DEFAULT_SCTP_PORT;
    // RFC 8841 §6.1: 0 means "any size"; absent means 64 KiB.
    const max = options.remoteMaxMessageSize ?? 65_536;
    this.#remoteMaxMessageSize = max === 0 ? Number.MAX_SAFE_INTEGER : max;
    const send = options.send;
    this.#transport = {
      send: async (packet: Buffer) => {
        if (!this.#closed) send(packet);
      },
      close: () => undefined,
    };
  }

  get connected(): boolean {
    return this.#connected;
  }

  get channels(): ReadonlyMap<number, DataChannel> {
    return this.#channels;
  }

  /** The first open channel labelled `label`. */
  channel(label: string): DataChannel | undefined {
    for (const c of this.#channels.values()) if (c.label === label && c.state === 'open') return c;
    return undefined;
  }

  /** DTLS is connected: run the association. */
  start(): void {
    if (this.#sctp || this.#closed) return;
    const sctp = this.#isDtlsClient
      ? SCTP.client(this.#transport as never, DEFAULT_SCTP_PORT)
      : SCTP.server(this.#transport as never, DEFAULT_SCTP_PORT);
    this.#sctp = sctp;
    sctp.stateChanged.connected.subscribe(() => this.#onConnected());
    sctp.stateChanged.closed.subscribe(() => this.close());
    sctp.onReceive.subscribe((streamId: number, ppid: number, data: Buffer) =>
      this.#onReceive(streamId, ppid, data),
    );
    sctp.onReconfigStreams.subscribe((ids: number[]) => {
      for (const id of ids) this.#channels.get(id)?.markClosed();
    });
    sctp.start(this.#remotePort).catch(() => this.close());
  }

  /** One DTLS application-data record: an SCTP packet. Never throws. */
  handle(packet: Buffer): void {
    const sctp = this.#sctp;
    if (!sctp || this.#closed) {
      this.stats.packetsDropped++;
      return;
    }
    if (!checkSctpPacket(packet).ok) {
      this.stats.packetsDropped++;
      return;
    }
    this.stats.packetsReceived++;
    try {
      const library = sctp as unknown as { handleData(data: Buffer): Promise<void>; advertisedRwnd: number };
      library.handleData(packet).then(
        () => {
          if (LIBRARY_RWND - library.advertisedRwnd > MAX_UNDELIVERED_BYTES) {
            this.stats.packetsDropped++;
            this.close();
          }
        },
        () => {
          this.stats.packetsDropped++;
        },
      );
    } catch {
      this.stats.packetsDropped++;
    }
  }

  /**
   * Opens a channel from our side. It opens once the association is up (at once if it is); the
   * DATA_CHANNEL_OPEN goes first on its stream. Undefined when no stream id is left.
   */
  createDataChannel(label: string, options: DataChannelOptions = {}): DataChannel | undefined {
    if (this.#closed) return undefined;
    let id = this.#nextId;
    while (this.#channels.has(id) && id < MAX_STREAMS) id += 2;
    if (id >= MAX_STREAMS) return undefined;
    this.#nextId = id + 2;
    const channel = new DataChannel(
      this,
      id,
      {
        label,
        protocol: options.protocol ?? '',
        ordered: options.ordered ?? true,
        maxRetransmits: options.maxRetransmits,
        maxPacketLifeTimeMs: options.maxRetransmits === undefined ? options.maxPacketLifeTimeMs : undefined,
        priority: 0,
      },
      false,
    );
    this.#channels.set(id, channel);
    if (this.#connected) this.#announce(channel);
    return channel;
  }

  /** @internal DataChannel.send */
  sendMessage(channel: DataChannel, data: Buffer | string, acked: boolean): boolean {
    const sctp = this.#sctp;
    if (!sctp || !this.#connected) return false;
    const isString = typeof data === 'string';
    let payload = isString ? Buffer.from(data, 'utf8') : data;
    if (payload.length > this.#remoteMaxMessageSize) {
      this.stats.messagesDropped++;
      return false;
    }
    let ppid: number = isString ? Ppid.STRING : Ppid.BINARY;
    if (payload.length === 0) {
      // RFC 8831 §6.6: an empty message is one zero byte under the "empty" PPID.
      ppid = isString ? Ppid.STRING_EMPTY : Ppid.BINARY_EMPTY;
      payload = Buffer.alloc(1);
    }
    const options = {
      ordered: acked ? channel.ordered : true,
      maxRetransmits: channel.maxRetransmits,
      expiry:
        channel.maxPacketLifeTimeMs === undefined
          ? undefined
          : Date.now() / 1000 + channel.maxPacketLifeTimeMs / 1000,
    };
    const job = { bytes: payload.length, run: () => sctp.send(channel.id, ppid, payload, options) };
    if (this.#sendsInFlight >= MAX_SENDS_IN_FLIGHT) {
      if (this.#queuedBytes + job.bytes > MAX_QUEUED_BYTES) {
        this.stats.messagesDropped++;
        return false;
      }
      this.#queuedBytes += job.bytes;
      this.#sendQueue.push(job);
    } else {
      this.#run(job);
    }
    this.stats.messagesSent++;
    return true;
  }

  #run(job: { bytes: number; run: () => Promise<void> }): void {
    this.#sendsInFlight++;
    job
      .run()
      .catch(() => undefined)
      .finally(() => {
        this.#sendsInFlight--;
        const next = this.#closed ? undefined : this.#sendQueue.shift();
        if (!next) return;
        this.#queuedBytes -= next.bytes;
        this.#run(next);
      });
  }

  /** @internal DataChannel.close */
  resetStream(id: number): void {
    const sctp = this.#sctp;
    if (!sctp || !this.#connected) return;
    sctp.reconfigQueue.push(id);
    if (sctp.reconfigQueue.length === 1) sctp.transmitReconfigRequest().catch(() => undefined);
  }

  /** @internal */
  forget(id: number): void {
    this.#channels.delete(id);
  }

  /** Closes every channel and stops the association's timers (no SHUTDOWN: the transport is going). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    for (const c of [...this.#channels.values()]) c.markClosed();
    this.#channels.clear();
    this.#sendQueue.length = 0;
    this.#queuedBytes = 0;
    const sctp = this.#sctp;
    this.#sctp = undefined;
    sctp?.stop().catch(() => undefined);
    this.onDataChannel = null;
  }

  #onConnected(): void {
    if (this.#closed || this.#connected) return;
    this.#connected = true;
    for (const c of this.#channels.values()) this.#announce(c);
  }

  #announce(channel: DataChannel): void {
    const sctp = this.#sctp!;
    sctp
      .send(
        channel.id,
        Ppid.DCEP,
        buildDataChannelOpen({
          label: channel.label,
          protocol: channel.protocol,
          ordered: channel.ordered,
          maxRetransmits: channel.maxRetransmits,
          maxPacketLifeTimeMs: channel.maxPacketLifeTimeMs,
          priority: 0,
        }),
      )
      .catch(() => undefined);
    // Like browsers, the opener may send at once (ordered until the ACK).
    channel.markOpen();
  }

  #onReceive(streamId: number, ppid: number, data: Buffer): void {
    if (this.#closed) return;
    if (ppid === Ppid.DCEP) {
      this.#onDcep(streamId, data);
      return;
    }
    const channel = this.#channels.get(streamId);
    if (channel?.state !== 'open' || data.length > LOCAL_MAX_MESSAGE_SIZE) {
      this.stats.messagesDropped++;
      return;
    }
    let message: Buffer | string;
    switch (ppid) {
      case Ppid.STRING:
        message = data.toString('utf8');
        break;
      case Ppid.STRING_EMPTY:
        message = '';
        break;
      case Ppid.BINARY:
        message = data;
        break;
      case Ppid.BINARY_EMPTY:
        message = Buffer.alloc(0);
        break;
      default:
        this.stats.messagesDropped++;
        return;
    }
    this.stats.messagesReceived++;
    channel.markAcked();
    channel.onMessage?.(message);
  }

  #onDcep(streamId: number, data: Buffer): void {
    const message = parseDcep(data);
    if (!message) {
      this.stats.messagesDropped++;
      return;
    }
    if (message.type === 'ack') {
      this.#channels.get(streamId)?.markAcked();
      return;
    }
    // The opener's stream id has the opener's parity; a clash or an id past our limit is refused.
    const ours = (streamId % 2 === 0) === this.#isDtlsClient;
    if (ours || streamId >= MAX_STREAMS || this.#channels.has(streamId)) {
      this.stats.messagesDropped++;
      return;
    }
    const channel = new DataChannel(this, streamId, message.parameters, true);
    this.#channels.set(streamId, channel);
    this.#sctp?.send(streamId, Ppid.DCEP, buildDataChannelAck()).catch(() => undefined);
    channel.markOpen();
    this.onDataChannel?.(channel);
  }
}
