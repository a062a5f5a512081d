// Bytes the forwarding path allocates per forwarded packet in steady state (the bench's
// `forwarding_alloc_bytes_per_packet`), from an in-process run of the real path: a publisher's
// 3-layer VP8 simulcast track fanned out to subscribers over SRTP and the endpoint's batched send
// on a loopback UDP socket, every transport after a real ICE check and DTLS handshake
// (test/support/forwarding-rig.ts). After a warm-up, the V8 young generation's used bytes are
// read around each run of 48 packets that no GC interrupted (test/support/allocations.ts): exact,
// not sampled; the figure is the least of the counted rounds, once V8 has optimised the path. The
// publisher's packets are handed to the endpoint as if its socket had read them (dispatch, SRTP
// unprotect onwards): what Node's dgram allocates for a received datagram (its Buffer and rinfo)
// is not counted.
// Measuring inside the media worker during the load steps could not be exact: there the count
// would hold the receive path, timers and RTCP, and GCs run mid-window.
// Usage: node bench/forwarding-allocations.ts [--subscribers 12] [--frames 2000] [--js]
// Prints one JSON line: per path (native, js), bytes per forwarded packet and the run's figures.
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { nativeAddon, nativeUnavailableReason } from '../src/transport/srtp/native-addon.ts';
import { openForwardingRig } from '../test/support/forwarding-rig.ts';

export interface ForwardingAllocations {
  path: 'native' | 'js';
  bytes_per_forwarded_packet: number;
  forwarded_packets: number;
  subscribers: number;
  gcs: Record<string, number>;
  chunks_with_gc: number;
  chunks: number;
  /** Bytes per forwarded packet of each counted round, in order (falling while V8 optimises). */
  rounds: number[];
}

async function measurePath(
  native: boolean,
  subscribers: number,
  frames: number,
): Promise<ForwardingAllocations> {
  const rig = await openForwardingRig({ subscribers, native });
  try {
    const r = await rig.measureAllocations({ warmupFrames: Math.max(1500, frames), frames });
    if (rig.sent().errors > 0) throw new Error(`${rig.sent().errors} datagrams refused`);
    return {
      path: native ? 'native' : 'js',
      bytes_per_forwarded_packet: Math.round(((r.bytesPerItem * r.items) / r.forwarded) * 10) / 10,
      forwarded_packets: r.forwarded,
      subscribers,
      gcs: r.gcs,
      chunks_with_gc: r.chunksWithGc,
      chunks: r.chunks,
      rounds: r.rounds,
    };
  } finally {
    rig.close();
  }
}

/** Runs this file in a child process (a fresh heap, nothing else running in it); parses its line. */
export function forwardingAllocations(): { native?: ForwardingAllocations; js?: ForwardingAllocations } {
  const out = execFileSync(process.execPath, [import.meta.filename], { encoding: 'utf8', timeout: 300_000 });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      subscribers: { type: 'string', default: '12' },
      frames: { type: 'string', default: '2000' },
      js: { type: 'boolean', default: false },
    },
  });
  const subscribers = Number(values.subscribers);
  const frames = Number(values.frames);
  const result: { native?: ForwardingAllocations; js?: ForwardingAllocations; native_unavailable?: string } =
    {};
  if (nativeAddon()) result.native = await measurePath(true, subscribers, frames);
  else result.native_unavailable = nativeUnavailableReason();
  if (values.js || !result.native) result.js = await measurePath(false, subscribers, frames);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
