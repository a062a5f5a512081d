import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MediaStreamTrack, RTCPeerConnection } from 'werift';
import { ParticipantId, RoomId } from '../../src/lib/ids.ts';
import { defaultMediaState } from '../../src/protocol/sfu-api.ts';
import { SfuGrpcClient } from '../../src/rpc/index.ts';
import { startStunResponder } from '../support/stun-responder.ts';
import { startCluster } from './cluster.ts';

/**
 * PUBLIC_IP_DISCOVERY in a `bbmeet sfu` process: the node asks the STUN server before its media
 * workers start and announces the reported address in the candidates of its answers.
 */

describe('PUBLIC_IP_DISCOVERY on a bbmeet sfu node', { timeout: 120_000 }, () => {
  const cleanups: Array<() => unknown> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('logs the discovered address with its server and announces it in a join answer', async () => {
    const stun = await startStunResponder({ mapped: '198.51.100.7' });
    cleanups.push(() => stun.close());
    const cluster = await startCluster({
      sfuCount: 1,
      signallingCount: 0,
      sfuEnv: async () => ({ PUBLIC_IP_DISCOVERY: stun.url }),
    });
    cleanups.push(() => cluster.stop());
    const node = cluster.sfus[0]!;
    const discovered = node.process.logs.find((l) => l.msg === 'public address discovered over STUN');
    assert.deepEqual(
      [discovered?.address, discovered?.server],
      ['198.51.100.7', stun.url],
      node.process.tail,
    );

    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    cleanups.push(() => pc.close());
    pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const client = new SfuGrpcClient(`127.0.0.1:${node.sfuPort}`);
    cleanups.push(() => client.close());
    const { sdp } = await client.join({
      roomId: RoomId(1),
      participantId: ParticipantId(1),
      sdp: pc.localDescription?.sdp ?? '',
      totalTracks: 1,
      mediaState: defaultMediaState(),
      isMigrate: false,
    });
    const addresses = [...sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ /gm)].map((m) => m[1]);
    assert.deepEqual([...new Set(addresses)], ['198.51.100.7'], sdp);
  });
});
