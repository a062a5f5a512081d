// Ports that were free a moment ago (bound, then released), for servers the bench and the tests
// start on loopback.
import dgram from 'node:dgram';
import net from 'node:net';

export async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A media worker's port: free for UDP, on IPv6 and for TCP (IPv4 and IPv6) too. A media worker also
 * binds its port number on IPv6 when the machine has an IPv6 address, and listens for ICE-TCP on the
 * same number, on IPv4 and IPv6;
 * the kernel hands ephemeral ports to UDP sockets and to outgoing TCP connections (a load
 * generator's HTTP and socket.io clients, a browser's to a TURN server) from the same range, so a
 * port free for UDP can be taken for TCP: seen in the bench's signalling scenario and in tests.
 */
export async function freeUdpPort(): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const { port } = socket.address();
    const free = await freeBesidesUdp4(port);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (free || attempt === 20) return port;
  }
}

/** `count` consecutive ports free as freeUdpPort's (media worker i binds the first + i); the first is returned. */
export async function freeUdpPorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await freeUdpPort();
    if (first + count - 1 > 65_535) continue;
    const bound: dgram.Socket[] = [];
    try {
      for (let i = 1; i < count; i++) {
        const socket = dgram.createSocket('udp4');
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(first + i, '127.0.0.1', resolve);
        });
        bound.push(socket);
        if (!(await freeBesidesUdp4(first + i))) throw new Error('taken for TCP or IPv6');
      }
      return first;
    } catch {
      // one of the next ports is taken: try another first port
    } finally {
      await Promise.all(bound.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    }
  }
  throw new Error(`no ${count} consecutive free UDP ports found`);
}

/** Whether the port is free for what a media worker binds besides its IPv4 UDP socket. */
export async function freeBesidesUdp4(port: number): Promise<boolean> {
  return (await freeOnIpv6(port)) && (await freeOnTcp(port));
}

/**
 * False when a TCP listener cannot take the port, on IPv4 or (ICE-TCP listens there too when the
 * worker has IPv6) on IPv6; a machine without IPv6 has it free there.
 */
async function freeOnTcp(port: number): Promise<boolean> {
  return (await listensOn(port, '0.0.0.0', false)) && (await listensOn(port, '::', true));
}

async function listensOn(port: number, host: string, ipv6Only: boolean): Promise<boolean> {
  const server = net.createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve(ipv6Only && err.code !== 'EADDRINUSE'));
    server.listen({ port, host, ipv6Only }, () => resolve(true));
  });
  if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  return free;
}

/** False only when the port is taken on IPv6 (a machine without IPv6 has it free). */
async function freeOnIpv6(port: number): Promise<boolean> {
  const socket = dgram.createSocket({ type: 'udp6', ipv6Only: true });
  const free = await new Promise<boolean>((resolve) => {
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'EADDRINUSE'));
    socket.bind(port, '::', () => resolve(true));
  });
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return free;
}
