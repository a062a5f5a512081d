import { silentLogger } from '../../src/lib/logger.ts';
import { createSfu } from '../../src/sfu/create-sfu.ts';
import { countingEgress, TEST_EGRESS_SETTINGS } from '../support/counting-egress.ts';
import { freeUdpPort } from '../support/server.ts';
import { sfuApiContract } from './sfu-api.contract.ts';

/** The SfuApi contract against the in-process Sfu (what the embedded deployment hands signalling). */
sfuApiContract('in-process Sfu', async () => {
  const port = await freeUdpPort();
  const { sfu, stop } = await createSfu({
    workers: 1,
    portMin: port,
    portMax: port,
    publicIp: '127.0.0.1',
    nodeId: 'contract-node',
    logLevel: 'silent',
    logger: silentLogger(),
    egress: countingEgress(),
    egressSettings: TEST_EGRESS_SETTINGS,
  });
  return { sfu, close: stop };
});
