/**
 * One received RTP packet, parsed once and shared read-only with every DownTrack. Valid only
 * during `writeRtp`: the UpTrack reuses the object for the next packet.
 */
export interface MediaPacket {
  buffer: Buffer;
  headerBytes: number;
  ssrc: number;
  /**
   * A small integer naming the packet's stream (one per layer of every UpTrack), for sinks to tell
   * streams apart without the SSRC: a number above 2^30 (most SSRCs) is a heap object to V8, one
   * more allocation wherever it is passed on or stored.
   */
  sourceId: number;
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  keyframe: boolean;
  /** Simulcast layer index (0 = lowest), 0 for single-layer tracks. */
  layer: number;
  /** Spatial layer for the SimulcastSelector: the simulcast index, or the VP9 SID in SVC mode. */
  spatial: number;
  /** VP8/VP9 temporal id, -1 when the codec carries none. */
  temporal: number;
  /** VP8 Y / VP9 U: a higher temporal layer may start at this frame. */
  layerSync: boolean;
  /** VP9: E bit (last packet of this spatial layer's frame); otherwise the marker bit. */
  endOfFrame: boolean;
}
