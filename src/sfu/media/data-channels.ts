import type { ParticipantId } from '../../lib/ids.ts';
import type { NegotiatedDataChannels } from '../../transport/negotiation/index.ts';
import type { DataChannel } from '../../transport/sctp/index.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import type { Publisher } from './publisher.ts';
import type { Subscription } from './subscription.ts';

/** Waterbus dynacast channel: server → publisher on our channel, subscriber → server on theirs. */
export const TRACK_QUALITY_LABEL = 'track_quality';
/** Room data channels relayed to the other participants (docs/data-channels.md). */
export const ROOM_DATA_LABELS: ReadonlySet<string> = new Set(['bbmeet-data', 'bbmeet-data-lossy']);
/** Binary relay envelope: version byte, then the sender's id length and id, then the payload. */
export const ENVELOPE_VERSION = 1;
const MAX_QUALITY_MESSAGE_BYTES = 1024;
const MAX_TRACK_ID_CHARS = 256;

/** What the relay needs of a room: its publishers and subscriptions (MediaEngine's Room). */
export interface DataRoom {
  publishers: ReadonlyMap<ParticipantId, Publisher>;
  subscriptions: ReadonlyMap<string, { subscription: Subscription }>;
}

export interface DataChannelStats {
  /** track_quality messages sent to publishers. */
  qualitySent: number;
  /** Valid track_quality requests from subscribers, handed to Subscription.setPreferredQuality. */
  qualityRequests: number;
  /** Malformed track_quality requests, ignored. */
  badMessages: number;
  /** Room data messages delivered (one per recipient). */
  relayed: number;
  /** Room data messages with no open channel of that label at a recipient. */
  undeliverable: number;
  /** Room data messages of a participant without the `canPublishData` grant: dropped, never relayed. */
  refused: number;
}

/**
 * The data channels of a media worker's rooms: Waterbus `track_quality` both ways and the room
 * data relay, all inside the worker (no signalling round-trip). It keeps no channel of its own:
 * channels live in their transports' SCTP associations and go with them.
 */
export class DataChannelRelay {
  readonly stats: DataChannelStats = {
    qualitySent: 0,
    qualityRequests: 0,
    badMessages: 0,
    relayed: 0,
    undeliverable: 0,
    refused: 0,
  };

  /**
   * A publisher negotiated data channels: our `track_quality` channel carries Dynacast's wishes
   * (once per change, the latest per track when the channel opens); its own room data channels
   * are relayed.
   */
  attachPublisher(room: DataRoom, publisher: Publisher, negotiated: NegotiatedDataChannels): void {
    if (publisher.transport.dataChannels) return;
    const association = publisher.transport.enableDataChannels(negotiated);
    if (!association) return;
    association.onDataChannel = (channel) =>
      this.#listen(room, publisher.participantId, channel, publisher.canPublishData);
    const quality = association.createDataChannel(TRACK_QUALITY_LABEL);
    const pending = new Map<string, string>();
    const flush = () => {
      if (quality?.state !== 'open') return;
      for (const [trackId, message] of pending) {
        pending.delete(trackId);
        if (quality.send(Buffer.from(message, 'utf8'))) this.stats.qualitySent++;
      }
    };
    if (quality) quality.onOpen = flush;
    publisher.onLayersWanted = (trackId, q, subscribedCount, backupCodec) => {
      // A backup's wishes name its primary's track and its own codec (LiveKit's per-codec
      // subscribed qualities); Waterbus clients publish no backup and never get the field.
      const message = { trackId, subscribedCount, quality: q, timestamp: Date.now() };
      pending.set(
        backupCodec === undefined ? trackId : `${trackId}/${backupCodec}`,
        JSON.stringify(backupCodec === undefined ? message : { ...message, codec: backupCodec }),
      );
      flush();
    };
  }

  /** A subscriber connection negotiated data channels: its `track_quality` requests and room data. */
  attachSubscription(room: DataRoom, subscription: Subscription, negotiated: NegotiatedDataChannels): void {
    if (subscription.transport.dataChannels) return;
    const association = subscription.transport.enableDataChannels(negotiated);
    if (!association) return;
    association.onDataChannel = (channel) => {
      if (channel.label === TRACK_QUALITY_LABEL) {
        channel.onMessage = (data) => this.#onQualityRequest(subscription, data);
        return;
      }
      this.#listen(room, subscription.subscriberId, channel, subscription.canPublishData);
    };
  }

  #listen(room: DataRoom, from: ParticipantId, channel: DataChannel, mayPublish: boolean): void {
    if (!ROOM_DATA_LABELS.has(channel.label)) return;
    // Without the grant the channel still opens (the client cannot tell), but nothing is relayed.
    channel.onMessage = mayPublish
      ? (data) => this.#relay(room, from, channel.label, data)
      : () => {
          this.stats.refused++;
        };
  }

  #onQualityRequest(subscription: Subscription, data: Buffer | string): void {
    const request = parseQualityRequest(data);
    if (!request) {
      this.stats.badMessages++;
      return;
    }
    this.stats.qualityRequests++;
    try {
      subscription.setPreferredQuality(request.trackId, request.quality);
    } catch {
      this.stats.badMessages++;
    }
  }

  /** Sends `data` from `from` to every other participant of the room, once each. */
  #relay(room: DataRoom, from: ParticipantId, label: string, data: Buffer | string): void {
    const out = envelope(from, data);
    if (out === undefined) {
      this.stats.undeliverable++;
      return;
    }
    for (const participant of participantsOf(room)) {
      if (participant === from) continue;
      const channel = channelOf(room, participant, label);
      if (channel?.send(out)) this.stats.relayed++;
      else this.stats.undeliverable++;
    }
  }
}

/** `{"trackId": str, "quality": 0-3}` as UTF-8 JSON (binary or string message), or undefined. */
export function parseQualityRequest(
  data: Buffer | string,
): { trackId: string; quality: 0 | 1 | 2 | 3 } | undefined {
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (bytes === 0 || bytes > MAX_QUALITY_MESSAGE_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(
      typeof data === 'string' ? data : new TextDecoder('utf-8', { fatal: true }).decode(data),
    );
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { trackId, quality } = value as { trackId?: unknown; quality?: unknown };
  if (typeof trackId !== 'string' || trackId.length === 0 || trackId.length > MAX_TRACK_ID_CHARS)
    return undefined;
  if (quality !== 0 && quality !== 1 && quality !== 2 && quality !== 3) return undefined;
  return { trackId, quality };
}

/**
 * The relayed form of a room data message (docs/data-channels.md): a string becomes the string
 * `{"from": "<participantId>", "data": "<text>"}`; binary becomes
 * `[1][id length][id UTF-8][payload]` (undefined for an id over 255 bytes, which the binary form
 * cannot name; our ids are database integers).
 */
export function envelope(from: ParticipantId, data: Buffer | string): Buffer | string | undefined {
  if (typeof data === 'string') return JSON.stringify({ from, data });
  const id = Buffer.from(from, 'utf8');
  if (id.length > 255) return undefined;
  const out = Buffer.allocUnsafe(2 + id.length + data.length);
  out[0] = ENVELOPE_VERSION;
  out[1] = id.length;
  id.copy(out, 2);
  data.copy(out, 2 + id.length);
  return out;
}

function participantsOf(room: DataRoom): Set<ParticipantId> {
  const ids = new Set<ParticipantId>(room.publishers.keys());
  for (const { subscription } of room.subscriptions.values()) ids.add(subscription.subscriberId);
  return ids;
}

/** The recipient's open channel of that label: on its publisher connection, else a subscriber one. */
function channelOf(room: DataRoom, participant: ParticipantId, label: string): DataChannel | undefined {
  const transports: WebRtcTransport[] = [];
  const publisher = room.publishers.get(participant);
  if (publisher) transports.push(publisher.transport);
  for (const { subscription } of room.subscriptions.values())
    if (subscription.subscriberId === participant) transports.push(subscription.transport);
  for (const t of transports) {
    const channel = t.dataChannels?.channel(label);
    if (channel) return channel;
  }
  return undefined;
}
