import type { RtpOutput } from './rtp-output.ts';
import type { UpTrack } from './up-track.ts';

/** What a DownTrack (down-track.ts) is made with. */
export interface DownTrackOptions {
  upTrack: UpTrack;
  ssrc: number;
  payloadType: number;
  /** The RTX stream (RFC 4588) offered for retransmissions; used once the answer accepts it. */
  rtx?: { ssrc: number; payloadType: number } | undefined;
  /** Publisher extension id → subscriber extension id (0: dropped). */
  extensionIds?: Uint8Array | undefined;
  /** The subscriber's id for abs-send-time, rewritten with our send time; 0 when not sent. */
  absSendTimeId?: number | undefined;
  /** The subscriber's id for transport-cc: probe padding carries it (the sender stamps it). */
  transportCcId?: number | undefined;
  /**
   * Video: forward nothing until start() (the subscriber's transport is not connected yet, so
   * whatever is sent is dropped). Audio ignores it. Default false: forwarding starts at once.
   */
  waitForStart?: boolean | undefined;
  /** Called once, when the first keyframe packet is sent. */
  onFirstKeyframe?: (() => void) | undefined;
  /** Where packets go, built in place in its buffers; else `send`, given each packet in a fresh buffer. */
  output?: RtpOutput | undefined;
  send?: ((packet: Buffer) => void) | undefined;
}

/** How start() started a DownTrack (see there). */
export type DownTrackStart = 'audio' | 'replayed' | 'asked' | 'paused' | 'already';
