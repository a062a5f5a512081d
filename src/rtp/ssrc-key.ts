// An SSRC as a map key that V8 keeps unboxed. Node's 64-bit builds hold integers of 32 signed bits
// as small integers (Smis); an SSRC above 2^31 (half of them, being random) is a heap number,
// allocated each time it becomes a key or an argument. Its signed 32-bit form is always a Smi.

/** The 32-bit word at `offset` (an RTP header's SSRC at 8, an RTCP packet's sender at 4), signed. */
export function ssrcKey(packet: Uint8Array, offset: number): number {
  return (
    (packet[offset]! << 24) | (packet[offset + 1]! << 16) | (packet[offset + 2]! << 8) | packet[offset + 3]!
  );
}

/** The key of an SSRC given as a number (unsigned, or already a key). */
export function keyOfSsrc(ssrc: number): number {
  return ssrc | 0;
}

/** The unsigned SSRC of a key. */
export function ssrcOfKey(key: number): number {
  return key >>> 0;
}
