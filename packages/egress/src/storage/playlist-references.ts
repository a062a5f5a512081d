import { posix } from 'node:path';

/**
 * Tags whose URI must exist before the playlist may name it. Not EXT-X-PRELOAD-HINT (it names the
 * part being produced, by design not there yet) nor EXT-X-RENDITION-REPORT (renditions name each
 * other: requiring them would deadlock, and a player only uses them to jump to a rendition).
 * https://datatracker.ietf.org/doc/html/draft-pantos-hls-rfc8216bis#section-4.4.4.5
 */
const URI_TAGS = ['#EXT-X-MAP:', '#EXT-X-PART:', '#EXT-X-MEDIA:', '#EXT-X-I-FRAME-STREAM-INF:'];

const URI_ATTRIBUTE = /(?:^|,)URI="([^"]*)"/;

/**
 * The files a playlist names that must already be in the bucket, as paths relative to the mirrored
 * directory (`playlistPath` is the playlist's own relative path). Absolute URLs are not ours and
 * are left out.
 */
export function playlistReferences(text: string, playlistPath: string): string[] {
  const dir = posix.dirname(playlistPath);
  const refs = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const uri = line.startsWith('#') ? taggedUri(line) : line;
    if (!uri || uri.includes('://')) continue;
    refs.add(posix.normalize(posix.join(dir, uri.split('?')[0]!)));
  }
  return [...refs];
}

function taggedUri(line: string): string | undefined {
  if (!URI_TAGS.some((tag) => line.startsWith(tag))) return undefined;
  return URI_ATTRIBUTE.exec(line.slice(line.indexOf(':') + 1))?.[1];
}
