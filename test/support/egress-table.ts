import type { EgressControl } from '../../src/api/deps.ts';
import { SfuError } from '../../src/lib/errors.ts';
import type { EgressInfo, EgressRequest, EgressStopRequest } from '../../src/protocol/egress.ts';

/**
 * The SfuApi's egress operations as a table of egresses that records its calls, for tests of the
 * edges that call them (REST routes, the demo page's controls); the media side of egress is tested
 * in the egress stage. `refuse` answers a start with an error, as the SFU would.
 */
export class EgressTable implements EgressControl {
  readonly calls: EgressRequest[] = [];
  readonly egresses = new Map<string, EgressInfo>();
  refuse: ((req: EgressRequest) => SfuError | undefined) | undefined;

  async startEgress(req: EgressRequest): Promise<EgressInfo> {
    this.calls.push(req);
    const refused = this.refuse?.(req);
    if (refused) throw refused;
    const egressId = `eg-${this.egresses.size + 1}`;
    const info: EgressInfo = {
      egressId,
      roomId: req.roomId,
      kind: req.kind,
      participantId: req.participantId,
      state: 'active',
      startedAt: Date.now(),
      endedAt: null,
      reason: null,
      playlist: req.kind === 'hls' ? `${egressId}/master.m3u8` : null,
      files: req.kind === 'recording' ? [`${egressId}/room.webm`] : [],
      moqPath: req.kind === 'moq' ? `${req.roomId}/room` : null,
      nodeId: 'node-a',
      baseUrl: null,
    };
    this.egresses.set(egressId, info);
    return info;
  }

  async stopEgress(req: EgressStopRequest): Promise<EgressInfo> {
    return this.end(req.egressId, 'ended', 'stopped', req.roomId);
  }

  async listEgress(roomId: string): Promise<EgressInfo[]> {
    return [...this.egresses.values()].filter((e) => e.roomId === roomId);
  }

  /** Ends an egress as the backend would (stopped, or failed with a reason). */
  end(egressId: string, state: 'ended' | 'failed', reason: string, roomId?: string): EgressInfo {
    const info = this.egresses.get(egressId);
    if (!info || (roomId !== undefined && info.roomId !== roomId))
      throw new SfuError('not_found', `no egress ${egressId}`);
    const ended = { ...info, state, endedAt: Date.now(), reason };
    this.egresses.set(egressId, ended);
    return ended;
  }
}
