import { Dispatcher, MemoryNodeDirectory } from '../../src/dispatcher/index.ts';
import { NodeId } from '../../src/lib/ids.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { SfuGrpcClient, startSfuGrpcServer } from '../../src/rpc/index.ts';
import { createSfu } from '../../src/sfu/create-sfu.ts';
import { countingEgress, TEST_EGRESS_SETTINGS } from '../support/counting-egress.ts';
import { freeUdpPort } from '../support/server.ts';
import { sfuApiContract } from './sfu-api.contract.ts';

/**
 * The SfuApi contract against the Dispatcher as a signalling instance of a cluster uses it: two SFU
 * nodes (in-process Sfu, each served over gRPC on loopback) registered in a MemoryNodeDirectory
 * with a heartbeat, reached through SfuGrpcClient.
 */
sfuApiContract('Dispatcher over gRPC to two nodes', async () => {
  const directory = new MemoryNodeDirectory();
  const nodes = await Promise.all(
    ['contract-a', 'contract-b'].map(async (id) => {
      const port = await freeUdpPort();
      const media = await createSfu({
        workers: 1,
        portMin: port,
        portMax: port,
        publicIp: '127.0.0.1',
        nodeId: id,
        logLevel: 'silent',
        logger: silentLogger(),
        egress: countingEgress(),
        egressSettings: TEST_EGRESS_SETTINGS,
      });
      const grpc = await startSfuGrpcServer(media.sfu, { host: '127.0.0.1', port: 0, nodeId: id });
      const beat = () =>
        directory.heartbeat(
          {
            nodeId: NodeId(id),
            address: `127.0.0.1:${grpc.port}`,
            groupId: 'contract',
            load: {
              cpu: 0,
              packetsPerSecond: 0,
              participants: media.pool.placement().reduce((n, w) => n + w.participants, 0),
              rooms: 0,
              freePorts: 0,
              draining: false,
            },
            updatedAtMs: Date.now(),
          },
          { ttlMs: 3000, rooms: media.pool.placement().flatMap((w) => w.rooms) },
        );
      await beat();
      const timer = setInterval(() => void beat(), 1000);
      return {
        async close() {
          clearInterval(timer);
          await grpc.close();
          await media.stop();
        },
      };
    }),
  );
  const dispatcher = new Dispatcher({
    directory,
    groupId: 'contract',
    logger: silentLogger(),
    connect: (node) => new SfuGrpcClient(node.address),
  });
  return {
    sfu: dispatcher,
    async close() {
      await dispatcher.close();
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
});
