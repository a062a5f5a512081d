/**
 * Wire shapes the SDK reads (Waterbus REST JSON and socket payloads) and the public types of the
 * SDK. Only the fields the SDK uses are typed; the server sends more.
 */

export interface UserJson {
  id: number;
  fullName: string | null;
  userName: string;
  avatar?: string | null;
}

export interface ParticipantJson {
  id: number;
  userId: number;
  roomId: number;
  status?: number;
  user: UserJson | null;
}

export interface RoomJson {
  id: number;
  title: string;
  code: string;
  participants: ParticipantJson[];
}

export interface MessageJson {
  id: number;
  data: string;
  createdAt: string;
  createdById: number;
  roomId: number | string;
  status: number;
  createdBy: UserJson | null;
}

/** Egress (docs/egress.md): what leaves the server, mirroring src/protocol/egress.ts. */
export type EgressKind = 'hls' | 'recording' | 'moq';

/** `ending`: stop asked, files being finalised; `ended`/`failed` are final (`reason` says why). */
export type EgressState = 'starting' | 'active' | 'ending' | 'ended' | 'failed';

/** An egress as the REST routes answer it: EgressInfo plus `urls`, absolute playlist or file URLs. */
export interface EgressJson {
  egressId: string;
  roomId: string;
  kind: EgressKind;
  participantId: string | null;
  state: EgressState;
  /** ms since the epoch. */
  startedAt: number;
  endedAt: number | null;
  reason: string | null;
  /** Relative to the egress root (`…/egress/`): the HLS master playlist, the recording's files. */
  playlist: string | null;
  files: string[];
  /** MoQ: the broadcast path on the MoQ endpoint (`<root>moq`). */
  moqPath: string | null;
  nodeId: string;
  /** The node's own egress root, or null: this server's `/egress/`. */
  baseUrl: string | null;
  /** HLS: the master playlist; recording: the files written so far; MoQ: none. */
  urls: string[];
}

/** POST /rooms/:roomId/egress: `participantId` absent = the whole room (`stageId`: only that one). */
export interface StartEgressOptions {
  kind: EgressKind;
  participantId?: number;
  stageId?: number;
  /** Simulcast layer (0 lowest); absent or -1: the highest the publisher sends. */
  layer?: number;
}

/** `room.answer_subscriber` (also the ack of `room.subscribe`). */
export interface SubscribeReply {
  targetId: string | number;
  offer: string;
  cameraType: number;
  videoEnabled: boolean;
  audioEnabled: boolean;
  isScreenSharing: boolean;
  isHandRaising: boolean;
  isE2eeEnabled: boolean;
  videoCodec: string;
  screenTrackId: string | null;
}

/** What the SDK knows of a participant's media (from the server's media-state events). */
export interface MediaState {
  videoEnabled: boolean;
  audioEnabled: boolean;
  screenSharing: boolean;
  screenTrackId: string | null;
  handRaising: boolean;
  cameraType: number;
}

export function defaultMediaState(): MediaState {
  return {
    videoEnabled: true,
    audioEnabled: true,
    screenSharing: false,
    screenTrackId: null,
    handRaising: false,
    cameraType: 0,
  };
}

export interface Participant {
  /** The participant id (participants.id, as a decimal string, as on the socket). */
  id: string;
  userId: number | null;
  name: string;
  isLocal: boolean;
  state: MediaState;
}

export type TrackSource = 'camera' | 'screen';

export interface TrackInfo {
  participantId: string;
  kind: 'audio' | 'video';
  source: TrackSource;
  track: MediaStreamTrack;
  stream: MediaStream;
}

export interface ChatMessage {
  id: number;
  text: string;
  senderUserId: number;
  senderName: string;
  createdAt: string;
  /** True when the local user sent it. */
  isLocal: boolean;
}

export type RoomState = 'idle' | 'connecting' | 'joined' | 'reconnecting' | 'left';

export type VideoCodec = 'VP8' | 'H264' | 'VP9';

/** How well a participant's connection works, as the server measures it (`room.connection_quality`). */
export type ConnectionQuality = 'excellent' | 'good' | 'poor' | 'lost';

/** The video quality asked of the server for a participant's camera (Waterbus `track_quality`). */
export type PreferredQuality = 'off' | 'low' | 'medium' | 'high';

export interface ActiveSpeaker {
  participantId: string;
  /** Smoothed audio level, linear 0–1. */
  level: number;
  /** True for ourselves. */
  isLocal: boolean;
}

/** Every event a Room emits, with its payload. */
export interface RoomEvents {
  stateChanged: { state: RoomState; previous: RoomState };
  participantJoined: Participant;
  participantLeft: Participant;
  trackAdded: TrackInfo;
  trackRemoved: TrackInfo;
  mediaStateChanged: { participant: Participant; changed: Array<keyof MediaState> };
  chat: ChatMessage;
  /** Who speaks now, loudest first (empty: nobody). The server sends it on change, ≤ 2.5/s. */
  activeSpeakersChanged: { speakers: ActiveSpeaker[] };
  /** A participant's (or our own: `isLocal`) connection quality changed; ≤ 1 per 2 s each. */
  connectionQualityChanged: {
    participantId: string;
    quality: ConnectionQuality;
    score?: number;
    isLocal: boolean;
  };
  /** `reason` 'ice': the socket is up but the media path broke (an ICE restart follows). */
  reconnecting: { reason: string };
  /** `iceRestart`: media came back by an ICE restart (same participant, nothing re-published). */
  reconnected: { participantId: string; rejoined: boolean; iceRestart?: boolean };
  /** Something went wrong that the SDK could not hide (server refusal, media failure). */
  error: { code: string; message: string; event?: string };
  /**
   * This browser cannot decode a remote participant's track (e.g. Firefox without H264 and a
   * publisher in H264): that track stays blank, the rest of the call works. `codec`: its mime type.
   */
  trackUnsupported: {
    participantId: string;
    trackId: string;
    kind: 'audio' | 'video';
    codec: string;
    message: string;
  };
}
