import { ffmpeg, ffprobeJson } from '../src/testing/ffmpeg.ts';

/** What the recording tests read of a file with ffprobe: each stream's codec and size, the duration. */
export interface Probe {
  streams: Array<{ codec_name: string; codec_type: string; width?: number; height?: number }>;
  format: { duration?: string; format_name: string };
}

export async function probe(path: string): Promise<Probe> {
  const shown = 'stream=codec_name,codec_type,width,height:format=duration,format_name';
  return (await ffprobeJson(['-show_entries', shown, path])) as unknown as Probe;
}

/**
 * Decodes every frame of a file: what `ffmpeg -v error` said (empty when nothing was wrong; a file
 * cut short makes the demuxer say so, which the caller may expect) and the frames ffprobe decoded.
 */
export async function decodeCounts(
  path: string,
): Promise<{ errors: string; videoFrames: number; audioFrames: number }> {
  const counted = await ffprobeJson([
    '-count_frames',
    '-show_entries',
    'stream=codec_type,nb_read_frames',
    path,
  ]);
  const count = (type: string) =>
    Number(counted.streams?.find((s) => s.codec_type === type)?.nb_read_frames ?? 0);
  // The demuxer's time base, not the frame rate ffmpeg guesses: a camera's frames rounded to it
  // collide in the null muxer ("non monotonically increasing dts"), which is not a file's fault.
  const { stderr } = await ffmpeg(['-v', 'error', '-i', path, '-enc_time_base:v', '-1', '-f', 'null', '-']);
  return { errors: stderr.trim(), videoFrames: count('video'), audioFrames: count('audio') };
}

/**
 * The size of each picture a decoder outputs for a file's first video stream, in order ("WxH"),
 * from ffmpeg's showinfo filter (before any frame-rate conversion): `decoder` names the decoder
 * (e.g. libvpx-vp9, which outputs one picture per VP9 superframe), absent: ffmpeg's own.
 */
export async function decodedSizes(path: string, decoder?: string): Promise<string[]> {
  const input = [...(decoder ? ['-c:v', decoder] : []), '-i', path];
  const { stderr } = await ffmpeg([
    '-v',
    'info',
    ...input,
    '-map',
    '0:v:0',
    '-vf',
    'showinfo',
    '-f',
    'null',
    '-',
  ]);
  return [...stderr.matchAll(/\] n: *\d+ .* s:(\d+x\d+) /g)].map((m) => m[1]!);
}

/** The packets (blocks) of a file's first video stream. */
export async function videoPackets(path: string): Promise<number> {
  const probed = await ffprobeJson([
    '-select_streams',
    'v:0',
    '-count_packets',
    '-show_entries',
    'stream=nb_read_packets',
    path,
  ]);
  return Number(probed.streams?.[0]?.nb_read_packets ?? 0);
}
