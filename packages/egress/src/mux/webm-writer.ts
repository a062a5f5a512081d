import type { ByteOutput } from './byte-output.ts';
import { element, float, idBytes, master, string, UNKNOWN_SIZE, uint, vint, voidElement } from './ebml.ts';
import { Id } from './webm-ids.ts';
import { OPUS_SAMPLE_RATE, opusHead } from './webm-tracks.ts';

export type WebmTrackSpec =
  | { kind: 'video'; codec: 'vp8' | 'vp9' | 'av1'; width: number; height: number; codecPrivate?: Buffer }
  | { kind: 'audio'; codec: 'opus'; channels: number };

export interface WebmFrame {
  data: Buffer;
  ptsUs: number;
  keyframe: boolean;
  /** How long the frame lasts (audio: samples / rate), for the file's duration. */
  durationUs?: number;
}

export interface WebmOptions {
  /** A cluster is closed after this long even without a video keyframe. Default 5 s. */
  clusterMs?: number;
  app?: string;
}

const CODEC_ID = { vp8: 'V_VP8', vp9: 'V_VP9', av1: 'V_AV1', opus: 'A_OPUS' } as const;
/** Room kept at the start of the Segment for the SeekHead written on a clean end. */
const SEEK_HEAD_ROOM = 96;
/** A Duration element: 2-byte id, 1-byte size, 8-byte float. */
const DURATION_BYTES = 11;
/** Opus decoders need 80 ms before a seek point to converge (RFC 7845 §4.6). */
const OPUS_SEEK_PRE_ROLL_NS = 80_000_000;
const MAX_RELATIVE_MS = 0x7fff;
const SIZE_FIELD_BYTES = 8;

/**
 * A WebM (Matroska) file written as frames come: EBML header, Segment, Info (1 ms timestamps),
 * Tracks, then Clusters of SimpleBlocks, a new one at each video keyframe or every `clusterMs`.
 * Crash-safe: the Segment and each Cluster have the unknown size while recording, so a file cut
 * anywhere plays up to the cut. finish() makes it seekable: the Cluster and Segment sizes, the
 * Duration, Cues (the keyframe clusters) and a SeekHead are filled in.
 */
export class WebmWriter {
  readonly #out: ByteOutput;
  readonly #tracks: WebmTrackSpec[];
  readonly #clusterMs: number;
  readonly #videoTrack: number;
  #segmentStart = 0;
  #durationAt = 0;
  #infoAt = 0;
  #tracksAt = 0;
  /** The open cluster: where its size field is, its timestamp (ms); -1 when none. */
  #clusterSizeAt = -1;
  #clusterMs0 = 0;
  #endUs = 0;
  readonly #cues: Array<{ ms: number; track: number; position: number }> = [];
  #finished = false;

  constructor(out: ByteOutput, tracks: WebmTrackSpec[], options: WebmOptions = {}) {
    if (tracks.length === 0) throw new RangeError('a WebM file needs a track');
    this.#out = out;
    this.#tracks = tracks;
    this.#clusterMs = options.clusterMs ?? 5000;
    this.#videoTrack = tracks.findIndex((t) => t.kind === 'video');
    this.#writeHeader(options.app ?? 'bbmeet-egress');
  }

  /** Appends a frame of track `index` (0-based, in the order given); pts must not go back per track. */
  write(index: number, frame: WebmFrame): void {
    if (this.#finished || index < 0 || index >= this.#tracks.length) return;
    const ms = Math.round(frame.ptsUs / 1000);
    const isVideo = index === this.#videoTrack;
    const keyframe = isVideo ? frame.keyframe : true;
    if (this.#needsCluster(ms, isVideo && keyframe))
      this.#startCluster(ms, (isVideo && keyframe) || this.#videoTrack < 0, index);
    const header = Buffer.alloc(3);
    header.writeInt16BE(ms - this.#clusterMs0, 0);
    header[2] = keyframe ? 0x80 : 0;
    const block = Buffer.concat([vint(index + 1), header, frame.data]);
    this.#out.append(Buffer.concat([idBytes(Id.SimpleBlock), vint(block.length), block]));
    this.#endUs = Math.max(this.#endUs, frame.ptsUs + (frame.durationUs ?? 0));
  }

  /** Closes the file's structure: sizes, duration, cues and seek head (the caller closes the output). */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#closeCluster();
    const cuesAt = this.#out.position;
    if (this.#cues.length > 0) this.#out.append(this.#cuesElement());
    const end = this.#out.position;
    this.#out.patch(this.#segmentStart - SIZE_FIELD_BYTES, vint(end - this.#segmentStart, SIZE_FIELD_BYTES));
    this.#out.patch(this.#durationAt, float(Id.Duration, Math.max(1, this.#endUs / 1000)));
    const seeks: Array<[number, number]> = [
      [Id.Info, this.#infoAt],
      [Id.Tracks, this.#tracksAt],
    ];
    if (this.#cues.length > 0) seeks.push([Id.Cues, cuesAt]);
    const seekHead = master(
      Id.SeekHead,
      seeks.map(([id, at]) =>
        master(Id.Seek, [element(Id.SeekID, idBytes(id)), uint(Id.SeekPosition, at - this.#segmentStart)]),
      ),
    );
    this.#out.patch(
      this.#segmentStart,
      Buffer.concat([seekHead, voidElement(SEEK_HEAD_ROOM - seekHead.length)]),
    );
  }

  #writeHeader(app: string): void {
    this.#out.append(
      master(Id.EBML, [
        uint(Id.EBMLVersion, 1),
        uint(Id.EBMLReadVersion, 1),
        uint(Id.EBMLMaxIDLength, 4),
        uint(Id.EBMLMaxSizeLength, 8),
        string(Id.DocType, 'webm'),
        uint(Id.DocTypeVersion, 4),
        uint(Id.DocTypeReadVersion, 2),
      ]),
    );
    this.#out.append(Buffer.concat([idBytes(Id.Segment), UNKNOWN_SIZE]));
    this.#segmentStart = this.#out.position;
    this.#out.append(voidElement(SEEK_HEAD_ROOM));
    this.#infoAt = this.#out.position;
    const infoBody = Buffer.concat([
      uint(Id.TimestampScale, 1_000_000),
      string(Id.MuxingApp, app),
      string(Id.WritingApp, app),
    ]);
    const info = master(Id.Info, [infoBody, voidElement(DURATION_BYTES)]);
    this.#durationAt = this.#infoAt + info.length - DURATION_BYTES;
    this.#out.append(info);
    this.#tracksAt = this.#out.position;
    this.#out.append(
      master(
        Id.Tracks,
        this.#tracks.map((t, i) => trackEntry(t, i + 1)),
      ),
    );
  }

  #needsCluster(ms: number, videoKeyframe: boolean): boolean {
    if (this.#clusterSizeAt < 0) return true;
    const relative = ms - this.#clusterMs0;
    if (relative > MAX_RELATIVE_MS || relative < -MAX_RELATIVE_MS) return true;
    return videoKeyframe || relative >= this.#clusterMs;
  }

  #startCluster(ms: number, cue: boolean, index: number): void {
    this.#closeCluster();
    const position = this.#out.position;
    this.#out.append(Buffer.concat([idBytes(Id.Cluster), UNKNOWN_SIZE, uint(Id.Timestamp, Math.max(0, ms))]));
    this.#clusterSizeAt = position + 4;
    this.#clusterMs0 = Math.max(0, ms);
    if (cue)
      this.#cues.push({ ms: this.#clusterMs0, track: index + 1, position: position - this.#segmentStart });
  }

  #closeCluster(): void {
    if (this.#clusterSizeAt < 0) return;
    const size = this.#out.position - this.#clusterSizeAt - SIZE_FIELD_BYTES;
    this.#out.patch(this.#clusterSizeAt, vint(size, SIZE_FIELD_BYTES));
    this.#clusterSizeAt = -1;
  }

  #cuesElement(): Buffer {
    return master(
      Id.Cues,
      this.#cues.map((c) =>
        master(Id.CuePoint, [
          uint(Id.CueTime, c.ms),
          master(Id.CueTrackPositions, [uint(Id.CueTrack, c.track), uint(Id.CueClusterPosition, c.position)]),
        ]),
      ),
    );
  }
}

function trackEntry(track: WebmTrackSpec, number: number): Buffer {
  const common = [uint(Id.TrackNumber, number), uint(Id.TrackUID, number), uint(Id.FlagLacing, 0)];
  common.push(string(Id.CodecID, CODEC_ID[track.codec]));
  if (track.kind === 'video') {
    const children = [...common, uint(Id.TrackType, 1)];
    if (track.codecPrivate) children.push(element(Id.CodecPrivate, track.codecPrivate));
    children.push(master(Id.Video, [uint(Id.PixelWidth, track.width), uint(Id.PixelHeight, track.height)]));
    return master(Id.TrackEntry, children);
  }
  return master(Id.TrackEntry, [
    ...common,
    uint(Id.TrackType, 2),
    element(Id.CodecPrivate, opusHead(track.channels)),
    uint(Id.CodecDelay, 0),
    uint(Id.SeekPreRoll, OPUS_SEEK_PRE_ROLL_NS),
    master(Id.Audio, [float(Id.SamplingFrequency, OPUS_SAMPLE_RATE), uint(Id.Channels, track.channels)]),
  ]);
}
