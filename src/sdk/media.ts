import type { TrackSource, VideoCodec } from './types.ts';

/**
 * The WebRTC seam: everything the Room does with RTCPeerConnection and capture devices goes
 * through this interface, so that the Room's signalling logic (and its state machine) runs in
 * Node against a fake. The browser implementation is `browser-media.ts`.
 */

export interface PublishOptions {
  /** Send three simulcast layers q/h/f (Waterbus' rids); VP9 always sends one encoding. */
  simulcast: boolean;
  codec: VideoCodec;
  /**
   * With a codec other than VP8: also send the camera in VP8, paused until the server says a
   * subscriber cannot decode `codec` (backup-codec.ts). Default on.
   */
  backupCodec?: boolean;
}

/** A backup codec's section of the publish offer and the camera's section, by mid. */
export interface BackupSection {
  mid: string;
  primaryMid: string;
}

export interface LocalTracksInfo {
  audio: boolean;
  video: boolean;
}

export interface RemoteTrackEvent {
  targetId: string;
  track: MediaStreamTrack;
  stream: MediaStream;
}

/** An RTCPeerConnection's `iceConnectionState` (spelled out: the SDK's unit tests run in Node). */
export type IceState = 'new' | 'checking' | 'connected' | 'completed' | 'disconnected' | 'failed' | 'closed';

export interface IceStateEvent {
  /** The participant a subscriber connection receives, or null for the publisher connection. */
  targetId: string | null;
  state: IceState;
}

export interface StatsSample {
  /** Milliseconds since some origin (performance.now()). */
  at: number;
  /** Per remote participant (their subscriber connection) and 'local' (the publisher). */
  connections: Record<string, RawConnectionStats>;
}

export interface RawVideoStats {
  width: number;
  height: number;
  /** framesDecoded (received) or framesEncoded (sent, best layer). */
  frames: number;
}

export interface RawConnectionStats {
  bytesSent: number;
  bytesReceived: number;
  packetsLost: number;
  packetsReceived: number;
  roundTripTimeS: number | null;
  /** Per video track id (the receiver's track id, or the local track for what we send). */
  videos: Record<string, RawVideoStats>;
}

export interface MediaController {
  /** What the local stream currently has (the publish offer carries one section per track). */
  localTracks(): LocalTracksInfo;
  /** A fresh publisher connection with the local tracks (and the screen, when shared); its offer. */
  createPublisherOffer(options: PublishOptions): Promise<string>;
  /**
   * The sections of the last publisher offer that are backup codecs of another, by mid (`room.publish`'s
   * `backupSections`, backup-codec.ts); none when the camera is sent in VP8 or without a backup.
   */
  backupSections?(): BackupSection[];
  applyPublisherAnswer(sdp: string): Promise<void>;
  /**
   * A new offer on the existing publisher connection (screen share added or removed); with
   * `iceRestart`, an ICE restart (new ICE credentials: `createOffer({iceRestart: true})`).
   */
  renegotiatePublisher(options?: { iceRestart?: boolean }): Promise<string>;
  addPublisherCandidate(candidate: RTCIceCandidateInit): Promise<void>;
  closePublisher(): void;
  /** Applies a server offer on the connection receiving `targetId` (created on first use); the answer. */
  answerSubscriber(targetId: string, offer: string): Promise<string>;
  addSubscriberCandidate(targetId: string, candidate: RTCIceCandidateInit): Promise<void>;
  closeSubscriber(targetId: string): void;
  /** Starts sending the screen; resolves with the screen track id. The callback fires when the user stops it. */
  startScreenShare(onEnded: () => void): Promise<string>;
  stopScreenShare(): void;
  /** The shared screen, while sharing. */
  screenStream(): MediaStream | null;
  setTrackEnabled(kind: 'audio' | 'video', enabled: boolean): void;
  /**
   * Asks the server for a quality of the publisher's track `trackId` received from `targetId`:
   * Waterbus `track_quality` (`{"trackId","quality":0-3}` as UTF-8 bytes) on a data channel of
   * that subscriber connection; the latest wish per track is sent once the channel opens.
   */
  setPreferredQuality(targetId: string, trackId: string, quality: 0 | 1 | 2 | 3): void;
  onRemoteTrack(handler: (event: RemoteTrackEvent) => void): void;
  onRemoteTrackEnded(handler: (event: RemoteTrackEvent) => void): void;
  /** ICE connection state changes of the publisher and of each subscriber connection (not after close). */
  onIceState(handler: (event: IceStateEvent) => void): void;
  sampleStats(): Promise<StatsSample>;
  /** Stops every connection and capture. */
  close(): void;
}

/** A Waterbus `track_quality` message: `{"trackId","quality"}` as JSON in UTF-8 bytes. */
export function encodeTrackQuality(trackId: string, quality: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ trackId, quality }));
}

/** How a remote video track is shown: the screen when its id is the announced screen track. */
export function sourceOf(trackId: string, screenTrackId: string | null): TrackSource {
  return screenTrackId !== null && trackId === screenTrackId ? 'screen' : 'camera';
}
