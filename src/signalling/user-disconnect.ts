import type { Server } from 'socket.io';
import type { UserId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { onPeerEvent } from './peer-events.ts';

/** Sent to the other signalling instances of a cluster: disconnect this user's sockets too. */
const USER_DISCONNECT_EVENT = 'bbmeet:user-disconnect';

/**
 * `RoomBroadcaster.disconnectUser`: closes the user's sockets on this instance and, in a cluster,
 * asks the other instances (serverSideEmit) to close theirs. Used when a logout revokes the user's
 * tokens: a socket authenticated with a revoked token must not stay open.
 */
export function userDisconnector(
  io: Server,
  options: { clustered: boolean; logger: Logger },
): (userId: UserId, reason: string) => void {
  const log = options.logger;
  const disconnectLocal = (userId: UserId, reason: string) => {
    let sockets = 0;
    // A logout is rare: a scan of this instance's sockets is cheaper than an index kept per user.
    for (const socket of io.of('/').sockets.values()) {
      if (socket.data.userId !== userId) continue;
      socket.disconnect(true);
      sockets++;
    }
    if (sockets > 0) log.info({ userId, reason, sockets }, 'user sockets disconnected');
  };
  if (options.clustered) {
    onPeerEvent(io, USER_DISCONNECT_EVENT, (msg) => {
      const m = msg as { userId?: unknown; reason?: unknown } | null;
      if (typeof m?.userId !== 'number' || typeof m.reason !== 'string') return;
      disconnectLocal(m.userId as UserId, m.reason);
    });
  }
  return (userId, reason) => {
    disconnectLocal(userId, reason);
    if (options.clustered) io.serverSideEmit(USER_DISCONNECT_EVENT, { userId, reason });
  };
}
