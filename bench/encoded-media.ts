// The replayed video as a file: VP8 frames per simulcast layer, encoded once by Chromium
// (chromium.ts) and kept in bench/fixtures so runs (and CI) replay them without encoding.
// Format: 'BBV8', then per frame: rid length (u8), rid, keyframe (u8), length (u32 BE), bytes.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Encoded frames per rid, base64, in decode order; the first of each is a keyframe. */
export type EncodedLayers = Record<string, Array<{ key: boolean; data: string }>>;

export const MEDIA_FIXTURE = path.join(import.meta.dirname, 'fixtures', 'vp8-720p-simulcast.bin');
const MAGIC = 'BBV8';

export function encodeLayersFile(layers: EncodedLayers): Buffer {
  const parts: Buffer[] = [Buffer.from(MAGIC)];
  for (const [rid, frames] of Object.entries(layers)) {
    for (const f of frames) {
      const data = Buffer.from(f.data, 'base64');
      const head = Buffer.alloc(1 + rid.length + 1 + 4);
      head[0] = rid.length;
      head.write(rid, 1, 'latin1');
      head[1 + rid.length] = f.key ? 1 : 0;
      head.writeUInt32BE(data.length, 2 + rid.length);
      parts.push(head, data);
    }
  }
  return Buffer.concat(parts);
}

/** Reads a layers file; throws a clear error when it is not one. */
export function decodeLayersFile(buf: Buffer): EncodedLayers {
  if (buf.toString('latin1', 0, 4) !== MAGIC) throw new TypeError('not a BBV8 media file');
  const layers: EncodedLayers = {};
  let o = 4;
  while (o < buf.length) {
    const ridLength = buf[o]!;
    if (o + 1 + ridLength + 5 > buf.length) throw new TypeError('truncated BBV8 media file');
    const rid = buf.toString('latin1', o + 1, o + 1 + ridLength);
    const key = buf[o + 1 + ridLength] === 1;
    const length = buf.readUInt32BE(o + 2 + ridLength);
    const start = o + 6 + ridLength;
    if (start + length > buf.length) throw new TypeError('truncated BBV8 media file');
    const frames = layers[rid] ?? [];
    frames.push({ key, data: buf.toString('base64', start, start + length) });
    layers[rid] = frames;
    o = start + length;
  }
  return layers;
}

export async function readLayersFile(file: string): Promise<EncodedLayers> {
  return decodeLayersFile(await readFile(file));
}

export async function writeLayersFile(file: string, layers: EncodedLayers): Promise<void> {
  await writeFile(file, encodeLayersFile(layers));
}

export const fixtureExists = () => existsSync(MEDIA_FIXTURE);
