import { BoxWriter } from './fmp4-box.ts';

/**
 * CMAF fragments: moof (mfhd, traf with tfhd default-base-is-moof, tfdt, trun) + mdat for one
 * track. Sample times are in the track's timescale; the caller gives each sample its duration
 * (the last one's from the next frame, when known).
 */

export interface Fmp4Sample {
  data: Buffer;
  /** In the track's timescale. */
  duration: number;
  /** A sync sample (video keyframe; every audio frame). */
  sync: boolean;
}

// ISO/IEC 14496-12 8.8.3.1 sample flags: sync depends on nothing; others depend on earlier samples.
const SYNC_SAMPLE_FLAGS = 0x02000000;
const NON_SYNC_SAMPLE_FLAGS = 0x01010000;

const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_DURATION = 0x000100;
const TRUN_SIZE = 0x000200;
const TRUN_FLAGS = 0x000400;
const TRUN_COMPOSITION_OFFSET = 0x000800;

export interface FragmentOptions {
  trackId: number;
  /** mfhd sequence number: 1 for the first fragment of the stream, +1 for each. */
  sequence: number;
  /** Decode time of the first sample, in the track's timescale. */
  baseDecodeTime: number;
  samples: Fmp4Sample[];
  /** Writes composition offsets (all 0: frames are in presentation order) for video tracks. */
  compositionOffsets: boolean;
}

export function mediaFragment(options: FragmentOptions): Buffer {
  const { samples } = options;
  const w = new BoxWriter(256 + samples.length * 16);
  let dataOffsetAt = 0;
  w.box('moof', (moof) => {
    moof.fullBox('mfhd', 0, 0, (b) => b.u32(options.sequence));
    moof.box('traf', (traf) => {
      traf.fullBox('tfhd', 0, TFHD_DEFAULT_BASE_IS_MOOF, (b) => b.u32(options.trackId));
      traf.fullBox('tfdt', 1, 0, (b) => b.u64(options.baseDecodeTime));
      const flags =
        TRUN_DATA_OFFSET |
        TRUN_DURATION |
        TRUN_SIZE |
        TRUN_FLAGS |
        (options.compositionOffsets ? TRUN_COMPOSITION_OFFSET : 0);
      traf.fullBox('trun', 0, flags, (b) => {
        b.u32(samples.length);
        dataOffsetAt = b.length;
        b.u32(0);
        for (const s of samples) {
          b.u32(s.duration)
            .u32(s.data.length)
            .u32(s.sync ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS);
          if (options.compositionOffsets) b.u32(0);
        }
      });
    });
  });
  const moofSize = w.length;
  const mdatSize = 8 + samples.reduce((sum, s) => sum + s.data.length, 0);
  // The data offset counts from the moof's first byte (default-base-is-moof) to the first sample.
  w.patchU32(dataOffsetAt, moofSize + 8);
  w.u32(mdatSize).fourcc('mdat');
  for (const s of samples) w.bytes(s.data);
  return w.toBuffer();
}
