// CPU cost of SRTP per 1200-byte RTP packet, both profiles: protect alone, and protect + unprotect.
// JavaScript (Node's crypto) and, when built, the native addon.
// Usage: ./node_modules/.bin/node src/transport/srtp/srtp.bench.ts
import { randomBytes } from 'node:crypto';
import { nativeAddon } from './native-addon.ts';
import { type SrtpImplementation, SrtpProfile, type SrtpProfileId, SrtpSession } from './srtp-session.ts';

const ITERATIONS = 50_000;
const WARMUP = 5_000;
const PAYLOAD_BYTES = 1200 - 12;

/** CPU µs per call of `run`, after a warm-up; `run` gets a running packet number (no repeats). */
function cpuUsPerIteration(run: (i: number) => void): number {
  let i = 0;
  while (i < WARMUP) run(i++);
  const start = process.cpuUsage();
  while (i < WARMUP + ITERATIONS) run(i++);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / ITERATIONS;
}

function bench(name: string, profile: SrtpProfileId, saltBytes: number, impl: SrtpImplementation): void {
  const key = randomBytes(16);
  const salt = randomBytes(saltBytes);
  const packet = Buffer.alloc(12 + PAYLOAD_BYTES);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt32BE(0x1234, 8);
  randomBytes(PAYLOAD_BYTES).copy(packet, 12);
  const tx = new SrtpSession(profile, key, salt, undefined, impl);
  const out = Buffer.alloc(packet.length + tx.rtpOverheadBytes);
  const protectUs = cpuUsPerIteration((i) => {
    packet.writeUInt16BE(i & 0xffff, 2);
    tx.protectRtp(packet, out);
  });
  const sender = new SrtpSession(profile, key, salt, undefined, impl);
  const receiver = new SrtpSession(profile, key, salt, undefined, impl);
  let failures = 0;
  const roundTripUs = cpuUsPerIteration((i) => {
    packet.writeUInt16BE(i & 0xffff, 2);
    const n = sender.protectRtp(packet, out);
    if (typeof n !== 'number' || typeof receiver.unprotectRtp(out.subarray(0, n)) !== 'number') failures++;
  });
  console.log(
    JSON.stringify({
      profile: name,
      implementation: impl,
      packet_bytes: packet.length,
      protect_us: Number(protectUs.toFixed(2)),
      protect_unprotect_us: Number(roundTripUs.toFixed(2)),
      failures,
    }),
  );
}

for (const impl of nativeAddon() ? (['js', 'native'] as const) : (['js'] as const)) {
  bench('AES_CM_128_HMAC_SHA1_80', SrtpProfile.AES_CM_128_HMAC_SHA1_80, 14, impl);
  bench('AEAD_AES_128_GCM', SrtpProfile.AEAD_AES_128_GCM, 12, impl);
}
