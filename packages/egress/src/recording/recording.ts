import { SfuError } from '../../../../src/lib/errors.ts';
import type { VideoCodecName } from '../media/frame.ts';
import { FileOutput } from '../mux/byte-output.ts';
import { Mp4Recording } from './mp4-recording.ts';
import type { RecordingSink } from './recording-sink.ts';
import { WebmRecording } from './webm-recording.ts';

export interface RecordingTracks {
  video?: VideoCodecName;
  audio?: { codec: 'opus'; channels: number };
}

export type RecordingFormat = 'webm' | 'mp4';

/** The container a recording of these tracks is written in: MP4 for H264, WebM otherwise. */
export function recordingFormat(tracks: RecordingTracks): RecordingFormat {
  return tracks.video === 'h264' ? 'mp4' : 'webm';
}

/**
 * Opens a recording file for a publisher's tracks (`path` without its extension, which the format
 * adds): a RecordingSink whose end() closes the file with its index. `onError` hears the first write
 * error (disk full…): the file stops growing and the owner should end the egress.
 */
export async function openRecording(
  path: string,
  tracks: RecordingTracks,
  onError: (err: Error) => void,
): Promise<{ sink: RecordingSink; file: string; format: RecordingFormat; bytesWritten: () => number }> {
  if (!tracks.video && !tracks.audio) throw new SfuError('invalid_argument', 'a recording needs a track');
  const format = recordingFormat(tracks);
  const file = `${path}.${format}`;
  const out = await FileOutput.create(file, onError);
  const bytesWritten = () => out.position;
  if (format === 'webm') {
    const video = tracks.video as 'vp8' | 'vp9' | 'av1' | undefined;
    return {
      sink: new WebmRecording(out, { ...(video && { video }), ...(tracks.audio && { audio: tracks.audio }) }),
      file,
      format,
      bytesWritten,
    };
  }
  const audio = tracks.audio && {
    codec: 'opus' as const,
    sampleRate: 48_000,
    channels: tracks.audio.channels,
  };
  const sink = new Mp4Recording(out, { video: 'h264', ...(audio && { audio }) });
  return { sink, file, format, bytesWritten };
}
