import { ffmpeg, ffprobeJson } from '../../src/testing/ffmpeg.ts';

/** One stream of a file as its packets place it: where it starts and ends, in seconds. */
export interface StreamSpan {
  type: string;
  codec: string;
  start: number;
  end: number;
  packets: number;
}

/**
 * The video and audio streams of a recording, spanned from their packets (first pts to last pts +
 * duration): the same measure for WebM, whose tracks carry no duration of their own, and MP4.
 */
export async function streamSpans(file: string): Promise<{ video: StreamSpan; audio: StreamSpan }> {
  const probed = await ffprobeJson(
    [
      ['-show_entries', 'stream=index,codec_type,codec_name:packet=stream_index,pts_time,duration_time'],
      [file],
    ].flat(),
  );
  const spans = new Map<number, StreamSpan>();
  for (const s of probed.streams ?? [])
    spans.set(Number(s.index), {
      type: String(s.codec_type),
      codec: String(s.codec_name),
      start: Number.POSITIVE_INFINITY,
      end: Number.NEGATIVE_INFINITY,
      packets: 0,
    });
  for (const p of (probed as { packets?: Array<Record<string, string | number>> }).packets ?? []) {
    const span = spans.get(Number(p.stream_index));
    const pts = Number(p.pts_time);
    // A packet without a time (N/A) places nothing.
    if (!span || !Number.isFinite(pts)) continue;
    span.packets++;
    span.start = Math.min(span.start, pts);
    span.end = Math.max(span.end, pts + (Number(p.duration_time) || 0));
  }
  const of = (type: string) => {
    const span = [...spans.values()].find((s) => s.type === type && s.packets > 0);
    if (!span) throw new Error(`${file}: no ${type} stream with packets`);
    return span;
  };
  return { video: of('video'), audio: of('audio') };
}

/**
 * What ffmpeg says decoding every frame of `file` (empty: nothing wrong). The null output keeps
 * each frame's own time in the file's time base (`-fps_mode passthrough -enc_time_base -1`): a
 * camera's frames come at uneven times (20 fps with 23 to 100 ms between frames under load) and the
 * default output rounds them onto the rate it guessed, where two frames can land on one tick and
 * the null muxer complains of a dts that is not increasing: a complaint about its own re-timing,
 * not about the file.
 */
export async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await ffmpeg(
    [
      ['-v', 'error', '-i', file],
      ['-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'null', '-'],
    ].flat(),
  );
  return stderr.trim();
}
