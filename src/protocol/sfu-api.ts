import type { ParticipantId, RoomId } from '../lib/ids.ts';
import type { EgressInfo, EgressRequest, EgressStats, EgressStopRequest } from './egress.ts';

/**
 * The one seam between signalling and media. Signalling calls these operations and never touches
 * media; the embedded deployment passes the in-process SFU, a cluster passes the dispatcher (which
 * forwards each call to the SFU node hosting the room over gRPC).
 *
 * Every operation names the acting participant; signalling has already checked that the socket
 * owns it. Failures are thrown as `SfuError` (lib/errors.ts).
 */
export interface SfuApi {
  /** Creates the participant's publisher connection from the client's offer; returns the answer. */
  join(req: JoinRequest): Promise<JoinResponse>;
  /** Creates (or recreates) a server-offer connection that forwards `targetId`'s tracks to the caller. */
  subscribe(req: SubscribeRequest): Promise<SubscribeResponse>;
  /**
   * Applies the subscriber's answer to the connection of `subscribe`; says which offered tracks it
   * refused (codecs it cannot decode).
   */
  setSubscriberAnswer(req: SubscriberAnswerRequest): Promise<SubscriberAnswerResponse>;
  /** A new offer on the publisher connection (tracks added or removed); returns the answer. */
  renegotiatePublisher(req: PublisherOfferRequest): Promise<{ sdp: string }>;
  addPublisherCandidate(req: PublisherCandidateRequest): Promise<void>;
  addSubscriberCandidate(req: SubscriberCandidateRequest): Promise<void>;
  setMediaState(req: MediaStateRequest): Promise<void>;
  /** Closes the participant's publisher and every connection it subscribes with or is subscribed by. */
  leave(req: ParticipantRef): Promise<void>;
  /** Events of one room until `signal` aborts. */
  events(roomId: RoomId, signal: AbortSignal): AsyncIterable<SfuEvent>;
  /** Live objects, for leak checks in tests and the admin view. */
  dump(): Promise<SfuDump>;
  /**
   * Starts an egress of the room (HLS, recording, MoQ) on the node hosting it. Fails with
   * 'unsupported' when the server runs without egress (EGRESS_ENABLED unset).
   */
  startEgress(req: EgressRequest): Promise<EgressInfo>;
  /** Stops an egress; resolves once its files are finalised, with its final state. */
  stopEgress(req: EgressStopRequest): Promise<EgressInfo>;
  /** The room's egresses, running and recently ended. */
  listEgress(roomId: RoomId): Promise<EgressInfo[]>;
  /**
   * The room's participants as the SFU holds them (the admin view): their tracks, the layers each
   * subscriber receives and the rates. No participants when the node holds nothing of the room.
   */
  inspectRoom(roomId: RoomId): Promise<RoomInspection>;
}

export interface ParticipantRef {
  roomId: RoomId;
  participantId: ParticipantId;
}

export interface MediaState {
  videoEnabled: boolean;
  audioEnabled: boolean;
  e2eeEnabled: boolean;
  cameraType: number;
  screenSharing: boolean;
  screenTrackId: string | null;
  handRaising: boolean;
}

/** A participant's media state before it says otherwise (camera and microphone on). */
export function defaultMediaState(): MediaState {
  return {
    videoEnabled: true,
    audioEnabled: true,
    e2eeEnabled: false,
    cameraType: 0,
    screenSharing: false,
    screenTrackId: null,
    handRaising: false,
  };
}

export interface JoinRequest extends ParticipantRef {
  sdp: string;
  /** Number of tracks the publisher will send; `publisherReady` fires once they all arrived. */
  totalTracks: number;
  mediaState: MediaState;
  /** A P2P → SFU migration: `publisherReady` carries isMigrate so peers re-subscribe. */
  isMigrate: boolean;
  /**
   * A join token's `canPublishData` (default true): false drops the participant's messages on the
   * room data channels instead of relaying them (`track_quality` still works).
   */
  canPublishData?: boolean;
  /** A join token's `hidden` (default false): the participant is left out of `activeSpeakers`. */
  hidden?: boolean;
  /**
   * Video sections of the offer that are backup codecs of another, by mid (the SDK's VP8 copy of
   * a camera sent in H264, VP9 or AV1): forwarded to subscribers who cannot decode that one.
   */
  backupSections?: BackupSection[];
}

/** A backup codec's section of a publisher's offer and the section it backs up. */
export interface BackupSection {
  mid: string;
  primaryMid: string;
}

export interface JoinResponse {
  sdp: string;
  isRecording: boolean;
}

export interface SubscribeRequest extends ParticipantRef {
  targetId: ParticipantId;
  /** The subscriber's `canPublishData` (default true), for messages it sends on this connection. */
  canPublishData?: boolean;
  /**
   * The subscriber's own offer (a WHEP player): the SFU answers it instead of offering. Such a
   * viewer receives the target's audio and camera video only, is never renegotiated, and its end
   * other than by `leave` (connection lost, target gone) is told by a `viewerEnded` event.
   */
  offer?: string;
  /**
   * With `offer`: the viewer follows the room's active speaker (among the publishers on the media
   * worker it is on, sending the kinds and codecs it was answered): its tracks switch to the
   * loudest one whenever that changes, and to another publisher when the one watched leaves;
   * `targetId` is where it starts. `viewerEnded` (target_left) when nobody is left to watch.
   */
  followActiveSpeaker?: boolean;
  /**
   * With `offer`: an ICE restart (RFC 8445 §9) of the viewer's connection, which must exist (else
   * `not_found`). `offer` is its first offer with new ICE credentials: its transport takes them and
   * new local ones, media and DTLS go on; `answer` is its first answer with our new credentials.
   */
  iceRestart?: boolean;
}

export interface SubscribeResponse {
  /** The SFU's offer; empty when the request carried the subscriber's offer. */
  offer: string;
  /** The SFU's answer to the request's `offer`. */
  answer?: string;
  /** Mime type of the target's video, e.g. `video/VP8`; empty when it has no video yet. */
  videoCodec: string;
}

export interface SubscriberAnswerRequest extends ParticipantRef {
  targetId: ParticipantId;
  sdp: string;
}

export interface SubscriberAnswerResponse {
  /** Offered tracks the subscriber's answer refused: it cannot decode their codec (e.g. Firefox and H264). */
  refusedTracks: RefusedTrack[];
}

export interface RefusedTrack {
  trackId: string;
  kind: 'audio' | 'video';
  /** The codec the track was offered in, e.g. `video/H264`. */
  mimeType: string;
}

export interface PublisherOfferRequest extends ParticipantRef {
  sdp: string;
}

export interface IceCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

export interface PublisherCandidateRequest extends ParticipantRef {
  candidate: IceCandidate;
}

export interface SubscriberCandidateRequest extends ParticipantRef {
  targetId: ParticipantId;
  candidate: IceCandidate;
}

export interface MediaStateRequest extends ParticipantRef {
  state: Partial<MediaState>;
  /**
   * An operator's mute: the SFU stops forwarding the kinds this state turns off (`audioEnabled`:
   * the audio tracks, `videoEnabled`: the camera video) until a later state turns them back on.
   */
  enforce?: boolean;
}

export type SfuEvent =
  /** All announced tracks of a publisher arrived (Waterbus `newUserJoined`). */
  | { type: 'publisherReady'; participantId: ParticipantId; nodeId: string; isMigrate: boolean }
  | { type: 'publisherCandidate'; participantId: ParticipantId; candidate: IceCandidate }
  | {
      type: 'subscriberCandidate';
      participantId: ParticipantId;
      targetId: ParticipantId;
      candidate: IceCandidate;
    }
  /** The server needs the subscriber to answer a new offer (tracks were added to the target). */
  | { type: 'subscriberOffer'; participantId: ParticipantId; targetId: ParticipantId; sdp: string }
  /**
   * The participant's media stopped answering (consent freshness expired), its worker died, or (in
   * a cluster) the SFU node hosting the room died.
   */
  | {
      type: 'participantLost';
      participantId: ParticipantId;
      reason: 'consent_timeout' | 'worker_restarted' | 'node_lost';
    }
  /**
   * The room's active speakers changed (audio level, RFC 6464): loudest first, empty when nobody
   * speaks. At most every 400 ms.
   */
  | { type: 'activeSpeakers'; speakers: ActiveSpeakerInfo[] }
  /** A participant's connection quality level changed; at most every 2 s per participant. */
  | {
      type: 'connectionQuality';
      participantId: ParticipantId;
      quality: ConnectionQualityLevel;
      /** 0–100 (simplified E-model); 0 when lost. */
      score: number;
    }
  /**
   * A viewer's connection (a subscribe with the subscriber's offer) ended without its `leave`: its
   * media stopped answering, or the target left or stopped publishing. The viewer holds nothing.
   */
  | {
      type: 'viewerEnded';
      participantId: ParticipantId;
      targetId: ParticipantId;
      reason: ViewerEndReason;
    }
  /** An egress of the room started, became active, or ended (`state`, `reason`): webhook-ready. */
  | { type: 'egressUpdated'; egress: EgressInfo };

export type ViewerEndReason = 'consent_timeout' | 'target_left';

export interface ActiveSpeakerInfo {
  participantId: ParticipantId;
  /** Smoothed audio level, linear 0–1 (1 = 0 dBov). */
  level: number;
}

export type ConnectionQualityLevel = 'excellent' | 'good' | 'poor' | 'lost';

/** Live objects of the SFU: after everyone left, `rooms` is empty and `transports` is 0. */
export interface SfuDump {
  rooms: Array<{
    roomId: RoomId;
    participants: ParticipantId[];
    publishers: number;
    subscriptions: number;
    /** Forwarding sinks attached to the room's published tracks (one per subscriber per track). */
    downTracks: number;
    /** A room spanning media workers: the workers holding its participants (by index). */
    workers?: number[];
    /** Relays of published tracks to other workers (one per track per destination worker). */
    relays?: number;
    /** Proxies of tracks published on other workers, fed by those relays. */
    remoteTracks?: number;
    /** Egress taps on the room's publishers (each copies a publisher's tracks to an egress). */
    taps?: number;
  }>;
  /** Open WebRTC transports (UDP associations), across workers. */
  transports: number;
  /** Datagrams dropped before reaching a transport: malformed, from unknown addresses or ICE users. */
  dropped: { malformed: number; unknownAddress: number; unknownUsername: number };
  /**
   * Packets handed between media workers for rooms spanning several (since start): batches and
   * packets sent and received, and what was dropped (malformed batches or messages, packets of a
   * track no longer relayed).
   */
  handover?: HandoverStats;
  /** Room data channel messages (since start): relayed (one per recipient) and refused by a grant. */
  data?: { relayed: number; refused: number };
  /** Egresses not yet ended (empty once every room they served is gone). */
  egress?: EgressInfo[];
  /** ICE-TCP (RFC 6544) of the media workers that listen for it: open connections and counters since start. */
  iceTcp?: IceTcpDump;
  /** Egress counters since start (absent when the process runs without egress). */
  egressStats?: EgressStats;
}

export interface IceTcpDump {
  connections: number;
  /** Connections closed for malformed RFC 4571 framing or a frame that is none of STUN, DTLS, RTP. */
  framingErrors: number;
  /** Packets dropped because the peer read too slowly: RTP first, then RTCP, STUN and DTLS. */
  rtpDropped: number;
  otherDropped: number;
}

export interface HandoverStats {
  batchesSent: number;
  packetsSent: number;
  batchesReceived: number;
  packetsReceived: number;
  malformed: number;
  unknownTrack: number;
}

/** One room on one SFU node (SfuApi.inspectRoom). */
export interface RoomInspection {
  roomId: RoomId;
  /** The SFU node holding the room. */
  nodeId: string;
  participants: ParticipantInspection[];
}

export interface ParticipantInspection {
  participantId: ParticipantId;
  /** Published tracks (none for a participant that only subscribes). */
  tracks: TrackInspection[];
  /** Media received from it: the sum of its tracks' rates over the last second. */
  bitrateInBps: number;
  /** Media forwarded to it: the rates of the layers its subscriptions receive. */
  bitrateOutBps: number;
  /** Bytes received on its publisher connection and sent on its subscriber connections, since they opened. */
  bytesIn: number;
  bytesOut: number;
}

export interface TrackInspection {
  trackId: string;
  kind: 'audio' | 'video';
  source: 'microphone' | 'camera' | 'screen';
  /** Mime type, e.g. `video/VP8`. */
  codec: string;
  /** Simulcast rids published, low → high (empty without simulcast). */
  rids: string[];
  /** Spatial layers seen so far (simulcast encodings or SVC). */
  layers: number;
  /** Stopped by an operator's mute (MediaStateRequest.enforce): not forwarded. */
  muted: boolean;
  bitrateBps: number;
  /** Who receives it, and the layer each gets (-1 for audio, or for video not forwarded yet). */
  subscribers: Array<{ participantId: ParticipantId; spatial: number; temporal: number }>;
}
