/**
 * A room as one media worker holds it: its publishers and subscriptions, the proxies and exports
 * of publishers relayed between workers, each subscriber's budget and the room's monitors, with
 * how a room is made, when it is empty and what dump() says of it. Not the operations on a room
 * (media-engine.ts and the files it delegates to).
 */

import type { Clock } from '../../lib/clock.ts';
import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { MediaState, SfuDump, SfuEvent } from '../../protocol/sfu-api.ts';
import type { AnsweredTrack, SubscriberSdpState } from '../../transport/negotiation/index.ts';
import type { ActiveSpeaker } from './active-speaker.ts';
import { ActiveSpeakerMonitor } from './active-speaker-monitor.ts';
import { ConnectionQualityMonitor } from './connection-quality-monitor.ts';
import { TapSink } from './egress-tap.ts';
import type { Publisher } from './publisher.ts';
import { RelaySink, type RemoteUpTrack } from './relay.ts';
import { RoomCodecs } from './room-codecs.ts';
import { SubscriberBudget } from './subscriber-budget.ts';
import type { Subscription } from './subscription.ts';
import type { UpTrack } from './up-track.ts';

/** A publisher homed on another worker, seen here by subscribers homed here (relay.ts). */
export interface RemotePublisher {
  participantId: ParticipantId;
  fromWorker: number;
  mediaState: MediaState;
  tracks: Map<string, RemoteUpTrack>;
}

/** A publisher homed here, relayed to one other worker: one sink per track, the wishes made from there. */
export interface Export {
  sinks: Map<UpTrack, RelaySink>;
  /** `${relayId}/${subscriberId}` of the Dynacast wishes set from the other worker. */
  wishes: Set<string>;
}

/** What a subscription forwards: a local Publisher or a RemotePublisher. */
export interface Source {
  mediaState: MediaState;
  tracks: ReadonlyMap<string, UpTrack>;
}

/**
 * A subscription and its negotiation: `sdp` is what the server offered; undefined for a viewer
 * (WHEP), which answered its own offer (`answer`, kept for its ICE restarts). `follow`: a viewer
 * following the active speaker, with the tracks it was answered (what another publisher must
 * send to be switched to).
 */
export interface SubscriptionEntry {
  subscription: Subscription;
  sdp: SubscriberSdpState | undefined;
  answer?: string | undefined;
  follow?: AnsweredTrack[] | undefined;
}

export interface Room {
  publishers: Map<ParticipantId, Publisher>;
  /** key: `${subscriberId}>${targetId}` (subscriptionKey). */
  subscriptions: Map<string, SubscriptionEntry>;
  /** Proxies of publishers homed on other workers that subscribers here forward. */
  remotes: Map<ParticipantId, RemotePublisher>;
  /** Publishers homed here that are relayed to other workers: publisher → worker index → export. */
  exports: Map<ParticipantId, Map<number, Export>>;
  /** Each subscriber's downlink, shared by its subscriptions (one allocation across them). */
  budgets: Map<ParticipantId, SubscriberBudget>;
  /** Active speakers and connection quality, reported as room events; closed with the room. */
  speakers: ActiveSpeakerMonitor;
  quality: ConnectionQualityMonitor;
  /** What each participant here decodes, for the room codec policy (room-codecs.ts). */
  codecs: RoomCodecs;
}

export function subscriptionKey(subscription: Subscription): string {
  return `${subscription.subscriberId}>${subscription.targetId}`;
}

/**
 * A new, empty room. Its monitors report through `emit`; on a change of active speakers the
 * budgets hear of it first, then `onSpeakers` (viewers following the speaker), then the room.
 */
export function createRoom(options: {
  clock: Clock;
  emit: (event: SfuEvent) => void;
  onSpeakers: (room: Room, speakers: ActiveSpeaker[]) => void;
}): Room {
  const { clock, emit } = options;
  const publishers = new Map<ParticipantId, Publisher>();
  const subscriptions: Room['subscriptions'] = new Map();
  const budgets: Room['budgets'] = new Map();
  const room: Room = {
    publishers,
    subscriptions,
    remotes: new Map(),
    exports: new Map(),
    budgets,
    codecs: new RoomCodecs(),
    speakers: new ActiveSpeakerMonitor({
      clock,
      publishers: () => publishers.values(),
      onChange: (speakers) => {
        const ids = new Set(speakers.map((s) => s.participantId));
        for (const budget of budgets.values()) budget.setActiveSpeakers(ids);
        options.onSpeakers(room, speakers);
        // A hidden participant (join token grant) is named to nobody, itself included.
        const named = speakers.filter((s) => publishers.get(s.participantId)?.hidden !== true);
        emit({ type: 'activeSpeakers', speakers: named });
      },
    }),
    quality: new ConnectionQualityMonitor({
      clock,
      publishers: () => publishers.values(),
      subscriptions: () => [...subscriptions.values()].map((e) => e.subscription),
      onChange: (participantId, quality, score) =>
        emit({ type: 'connectionQuality', participantId, quality, score }),
    }),
  };
  return room;
}

/** The subscriber's downlink, shared by its subscriptions in the room (made on first use). */
export function budgetOf(room: Room, subscriberId: ParticipantId): SubscriberBudget {
  let budget = room.budgets.get(subscriberId);
  if (!budget) {
    const created = new SubscriberBudget({
      subscriberId,
      onEmpty: () => {
        if (room.budgets.get(subscriberId) === created) room.budgets.delete(subscriberId);
      },
    });
    room.budgets.set(subscriberId, created);
    budget = created;
  }
  return budget;
}

/** Who is in the room on this worker: its publishers, subscribers and publishers proxied here. */
export function presentParticipants(room: Room): Set<ParticipantId> {
  return new Set([
    ...room.publishers.keys(),
    ...room.remotes.keys(),
    ...[...room.subscriptions.values()].map((e) => e.subscription.subscriberId),
  ]);
}

/** Nothing published, subscribed, proxied or exported here any more. */
export function isRoomEmpty(room: Room): boolean {
  return (
    room.publishers.size === 0 &&
    room.subscriptions.size === 0 &&
    room.remotes.size === 0 &&
    room.exports.size === 0
  );
}

/** Stops the room's monitors (the room is gone, or the engine closes). */
export function closeRoomMonitors(room: Room): void {
  room.speakers.close();
  room.quality.close();
}

/** The room's part of the worker's dump; `taps`: egress taps on its publishers (egress-tap.ts). */
export function dumpRoom(roomId: RoomId, room: Room, taps: number): SfuDump['rooms'][number] {
  return {
    roomId,
    participants: [
      ...new Set([
        ...room.publishers.keys(),
        ...[...room.subscriptions.values()].map((s) => s.subscription.subscriberId),
      ]),
    ],
    publishers: room.publishers.size,
    subscriptions: room.subscriptions.size,
    downTracks: [...room.publishers.values(), ...room.remotes.values()].reduce(
      (n, p) => n + [...p.tracks.values()].reduce((m, up) => m + forwardingSinks(up), 0),
      0,
    ),
    relays: [...room.exports.values()].reduce(
      (n, byWorker) => n + [...byWorker.values()].reduce((m, e) => m + e.sinks.size, 0),
      0,
    ),
    remoteTracks: [...room.remotes.values()].reduce((n, r) => n + r.tracks.size, 0),
    taps,
  };
}

/** Sinks of `up` that forward to subscribers (not the relays to other workers, not egress taps). */
function forwardingSinks(up: UpTrack): number {
  return [...up.sinks].filter((s) => !(s instanceof RelaySink) && !(s instanceof TapSink)).length;
}
