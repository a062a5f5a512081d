import { hostname } from 'node:os';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { Dispatcher, RedisNodeDirectory } from '../dispatcher/index.ts';
import type { Logger } from '../lib/logger.ts';
import { SfuGrpcClient } from '../rpc/index.ts';
import { type RunningServer, startSignallingServer } from './embedded.ts';

/**
 * The socket.io Redis adapter publishes every cross-instance broadcast without awaiting it: while
 * Redis is unreachable each one rejected unhandled (`MaxRetriesPerRequestError`), which ended the
 * process. A broadcast that cannot be published is lost for the other instances (their sockets
 * miss that one event, as if Redis had dropped it) and logged; this instance keeps serving its own.
 */
function catchPublishFailures(pub: Redis, log: Logger): void {
  const publish = pub.publish.bind(pub) as (channel: string, message: string | Buffer) => Promise<number>;
  let lastLogMs = 0;
  const safePublish = (channel: string, message: string | Buffer): Promise<number> =>
    publish(channel, message).catch((err: unknown) => {
      // At most one line a second: a chatty room would otherwise flood the log during an outage.
      if (Date.now() - lastLogMs >= 1000) {
        lastLogMs = Date.now();
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'redis publish failed');
      }
      return 0;
    });
  (pub as unknown as { publish: typeof safePublish }).publish = safePublish;
}

/**
 * `bbmeet signalling`: REST API and socket.io signalling, rooms shared with the other instances
 * through the socket.io Redis adapter, and media through the Dispatcher, which finds each room's
 * SFU node in Redis and calls it over gRPC. Needs PostgreSQL shared by every instance.
 */
export async function startSignallingNode(
  config: Config,
  logger: Logger,
): Promise<RunningServer & { dispatcher: Dispatcher }> {
  const redisUrl = config.cluster.redisUrl;
  if (!redisUrl) throw new Error('bbmeet signalling needs REDIS_URL');
  if (!config.database.url) {
    throw new Error('bbmeet signalling needs DATABASE_URL (PostgreSQL shared by every signalling instance)');
  }
  const nodeId = config.cluster.nodeId ?? `signalling-${hostname()}-${config.http.port}`;
  const log = logger.child({ nodeId });
  const clientOptions = { maxRetriesPerRequest: 2, connectTimeout: 5000 };
  const redis = new Redis(redisUrl, clientOptions);
  const pub = new Redis(redisUrl, clientOptions);
  const sub = pub.duplicate();
  for (const client of [redis, pub, sub])
    client.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  catchPublishFailures(pub, log);
  const dispatcher = new Dispatcher({
    directory: new RedisNodeDirectory({ redis }),
    groupId: config.cluster.groupId,
    logger: log.child({ component: 'dispatcher' }),
    connect: (node) =>
      new SfuGrpcClient(node.address, { logger: log.child({ component: 'grpc', node: node.nodeId }) }),
  });
  const closeClients = async () => {
    await dispatcher.close();
    // QUIT lets commands in flight finish; disconnect() rejected them ("Connection is closed"),
    // and one the adapter had not awaited crashed the process on its way out (exit 1 on SIGTERM).
    await Promise.all(
      [redis, pub, sub].map((client) => client.quit().then(undefined, () => client.disconnect())),
    );
  };
  try {
    const server = await startSignallingServer(config, log, {
      sfu: dispatcher,
      nodeId,
      adapter: createAdapter(pub, sub, { key: 'bbmeet' }),
      readinessChecks: [
        {
          name: 'redis',
          check: async () => {
            await redis.ping();
          },
        },
      ],
      onClose: closeClients,
    });
    return { ...server, dispatcher };
  } catch (err) {
    await closeClients();
    throw err;
  }
}
