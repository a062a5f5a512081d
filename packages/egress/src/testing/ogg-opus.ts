import type { AudioFrame } from '../media/frame.ts';

/** Test helper: the Opus packets of an Ogg Opus file (RFC 7845) as AudioFrames at 48 kHz. */
export function oggOpusToFrames(file: Buffer): AudioFrame[] {
  const packets = oggPackets(file);
  const head = packets[0] ?? Buffer.alloc(0);
  if (head.subarray(0, 8).toString('latin1') !== 'OpusHead') throw new Error('not Ogg Opus');
  const channels = head[9]!;
  const frames: AudioFrame[] = [];
  let samplesSoFar = 0;
  for (const data of packets.slice(2)) {
    const samples = opusSamples(data);
    const ptsUs = Math.round((samplesSoFar * 1e6) / 48000);
    frames.push({ kind: 'audio', codec: 'opus', data, ptsUs, samples, sampleRate: 48000, channels });
    samplesSoFar += samples;
  }
  return frames;
}

function oggPackets(file: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let pending: Buffer[] = [];
  let pos = 0;
  while (pos + 27 <= file.length && file.toString('latin1', pos, pos + 4) === 'OggS') {
    const segments = file[pos + 26]!;
    const table = file.subarray(pos + 27, pos + 27 + segments);
    let body = pos + 27 + segments;
    for (const lacing of table) {
      pending.push(file.subarray(body, body + lacing));
      body += lacing;
      // A lacing value under 255 ends a packet (RFC 3533 6).
      if (lacing < 255) {
        packets.push(Buffer.concat(pending));
        pending = [];
      }
    }
    pos = body;
  }
  return packets;
}

/** RFC 6716 3.1: samples at 48 kHz of one Opus packet, from its TOC byte. */
export function opusSamples(packet: Buffer): number {
  const toc = packet[0] ?? 0;
  const config = toc >> 3;
  let frameSamples: number;
  if (config < 12) frameSamples = [480, 960, 1920, 2880][config % 4]!;
  else if (config < 16) frameSamples = [480, 960][config % 2]!;
  else frameSamples = [120, 240, 480, 960][config % 4]!;
  const code = toc & 3;
  const count = code === 0 ? 1 : code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  return frameSamples * count;
}
