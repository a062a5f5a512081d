import { SfuError } from '../../../../src/lib/errors.ts';
import type { AudioConfig, VideoConfig } from '../media/frame.ts';
import { BoxWriter } from './fmp4-box.ts';
import { h264CodecString } from './h264-config.ts';

/**
 * CMAF init segments (ISO/IEC 23000-19): ftyp + moov with one track and mvex/trex, for H264
 * (avc1/avcC), Opus (Opus/dOps, "Encapsulation of Opus in ISOBMFF") and AAC (mp4a/esds).
 * One track per file, as CMAF wants: a rendition's video and audio are separate tracks.
 */

export type Fmp4Track =
  | { id: number; kind: 'video'; timescale: number; config: VideoConfig }
  | { id: number; kind: 'audio'; timescale: number; config: AudioConfig };

/** Video on the RTP clock; audio on its sample rate (Opus: 48 kHz) so sample durations are exact. */
export const VIDEO_TIMESCALE = 90_000;

export function initSegment(track: Fmp4Track): Buffer {
  return initSegmentOf([track]);
}

/**
 * ftyp + moov of several tracks (a fragmented MP4 recording holds its video and audio in one
 * file; CMAF renditions use initSegment, one track each).
 */
export function initSegmentOf(tracks: Fmp4Track[]): Buffer {
  const w = new BoxWriter();
  w.box('ftyp', (b) => b.fourcc('iso6').u32(0).fourcc('iso6').fourcc('cmfc').fourcc('mp41'));
  w.box('moov', (b) => {
    writeMvhd(b, Math.max(...tracks.map((t) => t.id)) + 1);
    for (const track of tracks) b.box('trak', (t) => writeTrak(t, track));
    b.box('mvex', (m) => {
      for (const track of tracks) m.fullBox('trex', 0, 0, (x) => x.u32(track.id).u32(1).u32(0).u32(0).u32(0));
    });
  });
  return w.toBuffer();
}

/** The RFC 6381 codec of a track, for HLS CODECS. */
export function codecString(track: Fmp4Track): string {
  if (track.kind === 'video') return h264CodecString(requireH264(track.config).sps);
  if (track.config.codec === 'opus') return 'opus';
  const asc = track.config.audioSpecificConfig ?? aacAudioSpecificConfig(track.config);
  return `mp4a.40.${(asc[0] ?? 0x10) >> 3}`;
}

/** An AAC-LC AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) for a rate and channel count. */
export function aacAudioSpecificConfig(config: { sampleRate: number; channels: number }): Buffer {
  const rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
  const index = rates.indexOf(config.sampleRate);
  if (index < 0) throw new SfuError('unsupported', `AAC sample rate ${config.sampleRate} has no index`);
  const objectType = 2;
  const value = (objectType << 11) | (index << 7) | ((config.channels & 0xf) << 3);
  return Buffer.from([value >> 8, value & 0xff]);
}

function requireH264(config: VideoConfig): { sps: Buffer; spsList: Buffer[]; ppsList: Buffer[] } {
  if (config.codec !== 'h264') {
    throw new SfuError('unsupported', `fMP4 writer takes H264 video, not ${config.codec}`);
  }
  const sps = config.sps?.[0];
  if (!sps || !config.pps?.length) throw new SfuError('invalid_argument', 'H264 config without SPS/PPS');
  return { sps, spsList: config.sps!, ppsList: config.pps };
}

function writeMvhd(w: BoxWriter, nextTrackId: number): void {
  w.fullBox('mvhd', 0, 0, (b) => {
    b.u32(0).u32(0).u32(1000).u32(0); // creation, modification, timescale (ms), duration unknown
    b.u32(0x00010000).u16(0x0100).zeros(10).matrix().zeros(24).u32(nextTrackId);
  });
}

function writeTrak(w: BoxWriter, track: Fmp4Track): void {
  const video = track.kind === 'video';
  w.fullBox('tkhd', 0, 3, (b) => {
    b.u32(0).u32(0).u32(track.id).u32(0).u32(0).zeros(8);
    b.u16(0)
      .u16(0)
      .u16(video ? 0 : 0x0100)
      .u16(0)
      .matrix();
    b.u32(video ? track.config.width << 16 : 0).u32(video ? track.config.height << 16 : 0);
  });
  w.box('mdia', (m) => {
    m.fullBox('mdhd', 0, 0, (b) => b.u32(0).u32(0).u32(track.timescale).u32(0).u16(0x55c4).u16(0));
    m.fullBox('hdlr', 0, 0, (b) =>
      b
        .u32(0)
        .fourcc(video ? 'vide' : 'soun')
        .zeros(12)
        .cstring(video ? 'VideoHandler' : 'SoundHandler'),
    );
    m.box('minf', (i) => writeMinf(i, track));
  });
}

function writeMinf(w: BoxWriter, track: Fmp4Track): void {
  if (track.kind === 'video') w.fullBox('vmhd', 0, 1, (b) => b.zeros(8));
  else w.fullBox('smhd', 0, 0, (b) => b.zeros(4));
  w.box('dinf', (d) => d.fullBox('dref', 0, 0, (b) => b.u32(1).fullBox('url ', 0, 1, () => {})));
  w.box('stbl', (s) => {
    s.fullBox('stsd', 0, 0, (b) => {
      b.u32(1);
      if (track.kind === 'video') writeAvc1(b, track.config);
      else writeAudioEntry(b, track.config);
    });
    s.fullBox('stts', 0, 0, (b) => b.u32(0));
    s.fullBox('stsc', 0, 0, (b) => b.u32(0));
    s.fullBox('stsz', 0, 0, (b) => b.u32(0).u32(0));
    s.fullBox('stco', 0, 0, (b) => b.u32(0));
  });
}

/** ISO/IEC 14496-15 5.4.2: avc1 VisualSampleEntry with its AVCDecoderConfigurationRecord. */
function writeAvc1(w: BoxWriter, config: VideoConfig): void {
  const { sps, spsList, ppsList } = requireH264(config);
  w.box('avc1', (b) => {
    b.zeros(6).u16(1).zeros(16).u16(config.width).u16(config.height);
    b.u32(0x00480000).u32(0x00480000).u32(0).u16(1).zeros(32).u16(0x0018).i16(-1);
    b.box('avcC', (c) => {
      c.u8(1)
        .u8(sps[1] ?? 0)
        .u8(sps[2] ?? 0)
        .u8(sps[3] ?? 0);
      c.u8(0xfc | 3); // 4-byte NAL unit lengths
      c.u8(0xe0 | spsList.length);
      for (const unit of spsList) c.u16(unit.length).bytes(unit);
      c.u8(ppsList.length);
      for (const unit of ppsList) c.u16(unit.length).bytes(unit);
    });
  });
}

function writeAudioEntry(w: BoxWriter, config: AudioConfig): void {
  const opus = config.codec === 'opus';
  w.box(opus ? 'Opus' : 'mp4a', (b) => {
    b.zeros(6).u16(1).zeros(8).u16(config.channels).u16(16).u16(0).u16(0);
    b.u32((config.sampleRate & 0xffff) << 16);
    if (opus) writeDops(b, config);
    else writeEsds(b, config);
  });
}

/**
 * Opus in ISOBMFF 4.3.2: dOps. Pre-skip 0: a WebRTC stream is joined mid-way, so there is no
 * encoder priming at its first packet to hide.
 */
function writeDops(w: BoxWriter, config: AudioConfig): void {
  w.box('dOps', (b) => b.u8(0).u8(config.channels).u16(0).u32(config.sampleRate).i16(0).u8(0));
}

/** ISO/IEC 14496-1 7.2.6: ES_Descriptor → DecoderConfigDescriptor → AudioSpecificConfig. */
function writeEsds(w: BoxWriter, config: AudioConfig): void {
  const asc = config.audioSpecificConfig ?? aacAudioSpecificConfig(config);
  const decoderSpecific = descriptor(0x05, asc);
  const decoderConfig = descriptor(
    0x04,
    Buffer.concat([Buffer.from([0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), decoderSpecific]),
  );
  const slConfig = descriptor(0x06, Buffer.from([0x02]));
  const es = descriptor(0x03, Buffer.concat([Buffer.from([0, 0, 0]), decoderConfig, slConfig]));
  w.fullBox('esds', 0, 0, (b) => b.bytes(es));
}

/** A descriptor with its size in the 4-byte expandable form (7-bit groups). */
function descriptor(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const header = [
    tag,
    0x80 | ((n >> 21) & 0x7f),
    0x80 | ((n >> 14) & 0x7f),
    0x80 | ((n >> 7) & 0x7f),
    n & 0x7f,
  ];
  return Buffer.concat([Buffer.from(header), body]);
}
