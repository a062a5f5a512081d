import { tmpdir } from 'node:os';
import { silentLogger } from '../../../../src/lib/logger.ts';
import type { EgressSettings } from '../../../../src/sfu/egress-backend.ts';
import { type OutputContext, openOutput, type PublisherOutput } from '../control/publisher-output.ts';
import type { MoqServer } from '../moq/index.ts';
import type { S3Uploader } from '../storage/s3-uploader.ts';
import { OPUS_TRACK, relayedTrack } from './rtp-build.ts';

/**
 * The HLS output of an H264 + Opus publisher (1 s segments, 0.5 s parts, a window of 3) mirrored
 * through `uploader` into the bucket `storage` names: what the bucket tests feed with fixtures.
 */
export function openBucketHlsOutput(o: {
  dir: string;
  relativeDir: string;
  storage: NonNullable<EgressSettings['storage']>;
  uploader: S3Uploader;
  onFailed(reason: string): void;
  roomMaster?: OutputContext['roomMaster'];
}): Promise<PublisherOutput> {
  return openOutput('hls', {
    dir: o.dir,
    relativeDir: o.relativeDir,
    tracks: [
      relayedTrack({ relayId: 1, kind: 'video', mimeType: 'video/H264', payloadType: 96, clockRate: 90_000 }),
      OPUS_TRACK,
    ],
    settings: {
      dataDir: tmpdir(),
      segmentSeconds: 1,
      partSeconds: 0.5,
      windowSegments: 3,
      publicUrl: null,
      storage: o.storage,
    },
    moq: {} as MoqServer,
    moqPath: `r/${o.relativeDir}`,
    logger: silentLogger(),
    requestKeyframe: () => undefined,
    onFailed: o.onFailed,
    uploader: o.uploader,
    ...(o.roomMaster && { roomMaster: o.roomMaster }),
  });
}
