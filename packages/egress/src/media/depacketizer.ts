/**
 * RTP payloads → coded frames. Each codec's depacketizer gets the packets of one SSRC in sequence
 * order (the reorder buffer's output) and is told when one was lost for good. Bounds-checked: a
 * malformed payload drops the frame it belongs to and counts an error; nothing throws.
 */

/** One in-order RTP packet as a depacketizer sees it. */
export interface RtpPayload {
  /** The RTP payload (after header, extensions and padding). */
  payload: Buffer;
  timestamp: number;
  marker: boolean;
}

/** A complete coded frame, still on its track's RTP clock (the timeline turns it into µs). */
export interface CodedFrame {
  rtpTimestamp: number;
  data: Buffer;
  keyframe: boolean;
  /** Coded size from a keyframe's header or SPS; 0 when this frame does not say. */
  width: number;
  height: number;
}

export interface Depacketizer {
  /** Takes the next packet; returns the frames it completed (usually none or one). */
  push(packet: RtpPayload): CodedFrame[];
  /** A packet before the next one was lost for good: the frame in progress is dropped. */
  lost(): void;
  /** Malformed payloads seen (each dropped its frame). */
  readonly errors: number;
}

/**
 * Collects the packets of one frame by RTP timestamp; the frame ends with the marker bit or when
 * a packet of a new timestamp arrives. Codecs add how a payload's bytes join the frame and where a
 * frame starts: VP8/VP9 say so in their descriptors (they call begin()); for H.264 and AV1
 * (`startsAtNewTimestamp`) the first packet of a timestamp starts it, so after a loss the
 * assembler waits for a marker bit, the one point where the next packet surely starts a frame.
 */
export abstract class FrameAssembler implements Depacketizer {
  errors = 0;
  protected parts: Buffer[] = [];
  protected timestamp = -1;
  /** False after a loss or an error until a packet that starts a frame arrives. */
  protected intact = false;
  protected keyframe = false;
  protected width = 0;
  protected height = 0;
  protected readonly startsAtNewTimestamp: boolean = false;
  /** Set by a codec whose descriptor marks a frame's last packet (VP9's E bit). */
  protected ended = false;
  #awaitMarker = false;

  push(packet: RtpPayload): CodedFrame[] {
    const out: CodedFrame[] = [];
    if (this.timestamp !== -1 && packet.timestamp !== this.timestamp) this.#finish(out);
    if (this.startsAtNewTimestamp) {
      if (this.#awaitMarker) {
        if (packet.marker) this.#awaitMarker = false;
        return out;
      }
      if (this.timestamp === -1) this.begin();
    }
    this.timestamp = packet.timestamp;
    if (!this.add(packet.payload)) {
      this.errors++;
      this.lost();
    } else if (packet.marker || this.ended) this.#finish(out);
    return out;
  }

  lost(): void {
    this.drop();
    if (this.startsAtNewTimestamp) {
      this.#awaitMarker = true;
      this.timestamp = -1;
    }
  }

  /** Adds one payload to the frame in progress; false when it is malformed. */
  protected abstract add(payload: Buffer): boolean;

  /** The frame's bytes from its parts (null: not a complete frame, dropped). */
  protected abstract build(): Buffer | null;

  /** Forgets the frame in progress. */
  protected drop(): void {
    this.parts = [];
    this.intact = false;
    this.keyframe = false;
    this.ended = false;
  }

  /** Starts a frame at this packet: earlier parts (of a frame never finished) are discarded. */
  protected begin(): void {
    this.drop();
    this.intact = true;
    this.width = 0;
    this.height = 0;
  }

  #finish(out: CodedFrame[]): void {
    const data = this.intact && this.parts.length > 0 ? this.build() : null;
    if (data !== null && data.length > 0)
      out.push({
        rtpTimestamp: this.timestamp,
        data,
        keyframe: this.keyframe,
        width: this.keyframe ? this.width : 0,
        height: this.keyframe ? this.height : 0,
      });
    this.drop();
    this.timestamp = -1;
  }
}
