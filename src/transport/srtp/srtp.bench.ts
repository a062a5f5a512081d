// CPU cost of SRTP per 1200-byte RTP packet, both profiles: protect, and protect + unprotect.
// Usage: node src/transport/srtp/srtp.bench.ts
import { randomBytes } from 'node:crypto';
import { SrtpProfile, SrtpSession } from './srtp-session.ts';

const ITERATIONS = 50_000;
for (const [name, profile, saltBytes] of [
  ['AES_CM_128_HMAC_SHA1_80', SrtpProfile.AES_CM_128_HMAC_SHA1_80, 14],
  ['AEAD_AES_128_GCM', SrtpProfile.AEAD_AES_128_GCM, 12],
] as const) {
  const key = randomBytes(16);
  const salt = randomBytes(saltBytes);
  const tx = new SrtpSession(profile, key, salt);
  const rx = new SrtpSession(profile, key, salt);
  const packet = Buffer.alloc(1200);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt32BE(0x1234, 8);
  let start = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) {
    packet.writeUInt16BE(i & 0xffff, 2);
    tx.protectRtp(packet, 12);
  }
  const protectUs = (process.cpuUsage(start).user + process.cpuUsage(start).system) / ITERATIONS;
  const tx2 = new SrtpSession(profile, key, salt);
  start = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) {
    packet.writeUInt16BE(i & 0xffff, 2);
    rx.unprotectRtp(tx2.protectRtp(packet, 12), 12);
  }
  const bothUs = (process.cpuUsage(start).user + process.cpuUsage(start).system) / ITERATIONS;
  console.log(
    JSON.stringify({
      profile: name,
      protect_us: Number(protectUs.toFixed(2)),
      protect_unprotect_us: Number(bothUs.toFixed(2)),
    }),
  );
}
