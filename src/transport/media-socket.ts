// Binding a media worker's UDP socket and fitting it out: its descriptor's native companions (the
// sendmmsg queue, the kernel's receive times) and a receive buffer sized for media.
import type dgram from 'node:dgram';
import { ReceiveClock } from './receive-clock.ts';
import { type SendCounters, SendQueue, socketFd } from './send-queue.ts';
import type { NativeAddon } from './srtp/native-addon.ts';

/**
 * Receive buffer asked for: enough for a worker's stalls of tens of milliseconds at tens of
 * thousands of packets per second, not so much that an overloaded worker queues half a second of
 * stale media (measured with npm run bench: 8 MB turned 1.3 % loss into 470 ms of latency).
 */
const RECEIVE_BUFFER_BYTES = 2 * 1024 * 1024;

export interface MediaSocket {
  port: number;
  /** The batched send, when the addon is loaded and found the socket's descriptor. */
  queue: SendQueue | undefined;
  /** The kernel's receive times, when the addon can tell them. */
  receiveClock: ReceiveClock | undefined;
  /** The receive buffer as the kernel reports it (twice what it granted). */
  receiveBufferBytes: number;
}

/** Binds `socket` on `port` of `host` (rejects when it cannot), then fits it out. */
export async function bindMediaSocket(
  socket: dgram.Socket,
  port: number,
  host: string,
  addon: NativeAddon | undefined,
  stats: SendCounters,
): Promise<MediaSocket> {
  await bindSocket(socket, port, host);
  const fd = addon ? socketFd(addon, socket) : -1;
  return {
    port: socket.address().port,
    queue: addon && fd >= 0 ? new SendQueue(addon, socket, fd, stats) : undefined,
    receiveClock: ReceiveClock.forSocket(addon, fd),
    receiveBufferBytes: growReceiveBuffer(socket, addon, fd),
  };
}

function bindSocket(socket: dgram.Socket, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

/**
 * A bigger receive buffer than the kernel's default (about 208 KB, ~170 full-size datagrams):
 * whatever arrives while the worker's thread is busy waits there, and a publisher's packet
 * dropped at this socket is lost for every subscriber. As root (SO_RCVBUFFORCE) it goes past
 * net.core.rmem_max; otherwise it stops there (docs/deployment.md says how to raise it).
 */
function growReceiveBuffer(socket: dgram.Socket, addon: NativeAddon | undefined, fd: number): number {
  if (addon?.setReceiveBuffer && fd >= 0) {
    try {
      return addon.setReceiveBuffer(fd, RECEIVE_BUFFER_BYTES);
    } catch {
      // Fall through to Node's setter.
    }
  }
  try {
    socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
  } catch {
    // Refused (e.g. not permitted): the default stays.
  }
  return socket.getRecvBufferSize();
}
