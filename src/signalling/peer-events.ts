import type { Server } from 'socket.io';

/**
 * Listens to `event` sent by the other signalling instances of a cluster (`serverSideEmit`,
 * relayed by the Redis adapter). socket.io types `on` for connections only, hence the cast.
 */
export function onPeerEvent(io: Server, event: string, listener: (msg: unknown) => void): void {
  (io as unknown as { on(event: string, listener: (msg: unknown) => void): void }).on(event, listener);
}
