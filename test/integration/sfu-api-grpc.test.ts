import { silentLogger } from '../../src/lib/logger.ts';
import { SfuGrpcClient, startSfuGrpcServer } from '../../src/rpc/index.ts';
import { createSfu } from '../../src/sfu/create-sfu.ts';
import { countingEgress, TEST_EGRESS_SETTINGS } from '../support/counting-egress.ts';
import { freeUdpPort } from '../support/server.ts';
import { sfuApiContract } from './sfu-api.contract.ts';

/** The SfuApi contract against the real Sfu behind startSfuGrpcServer on loopback, used through SfuGrpcClient. */
sfuApiContract('SfuGrpcClient → gRPC on loopback → Sfu', async () => {
  const udpPort = await freeUdpPort();
  const media = await createSfu({
    workers: 1,
    portMin: udpPort,
    portMax: udpPort,
    publicIp: '127.0.0.1',
    nodeId: 'contract-node',
    logLevel: 'silent',
    logger: silentLogger(),
    egress: countingEgress(),
    egressSettings: TEST_EGRESS_SETTINGS,
  });
  const server = await startSfuGrpcServer(media.sfu, { host: '127.0.0.1', port: 0, nodeId: 'contract-node' });
  const client = new SfuGrpcClient(`127.0.0.1:${server.port}`);
  return {
    sfu: client,
    async close() {
      client.close();
      await server.close();
      await media.stop();
    },
  };
});
