import { sumEgressStats } from '../protocol/egress.ts';
import type { SfuDump } from '../protocol/sfu-api.ts';

/** The cluster's dump: the nodes' rooms and egresses side by side, their counters summed. */
export function sumDumps(dumps: SfuDump[]): SfuDump {
  const sum = (pick: (d: SfuDump) => number) => dumps.reduce((n, d) => n + pick(d), 0);
  const egressStats = dumps.flatMap((d) => (d.egressStats ? [d.egressStats] : []));
  return {
    rooms: dumps.flatMap((d) => d.rooms),
    transports: sum((d) => d.transports),
    dropped: {
      malformed: sum((d) => d.dropped.malformed),
      unknownAddress: sum((d) => d.dropped.unknownAddress),
      unknownUsername: sum((d) => d.dropped.unknownUsername),
    },
    egress: dumps.flatMap((d) => d.egress ?? []),
    // Nodes without egress report none: the cluster has stats only when a node has egress.
    ...(egressStats.length > 0 ? { egressStats: sumEgressStats(egressStats) } : {}),
  };
}
