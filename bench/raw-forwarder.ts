// The raw UDP fan-out baseline: one socket, no ICE, DTLS or SRTP, no parsing. A datagram 'PUB!'
// + room (u32) marks its sender as that room's publisher, 'SUB!' + room adds the sender to the
// room's subscribers; every other datagram from a publisher goes as is to its room's subscribers.
// Prints its UDP port on stdout; stops on SIGTERM.
import dgram from 'node:dgram';

const socket = dgram.createSocket('udp4');
const roomOfPublisher = new Map<string, number>();
const subscribers = new Map<number, Array<{ port: number; address: string }>>();

socket.on('message', (m, rinfo) => {
  const key = `${rinfo.address}:${rinfo.port}`;
  if (m.length === 8 && m[0] !== 0x80 && m[0] !== 0x90) {
    const kind = m.toString('latin1', 0, 4);
    const room = m.readUInt32BE(4);
    if (kind === 'PUB!') roomOfPublisher.set(key, room);
    else if (kind === 'SUB!') {
      const list = subscribers.get(room) ?? [];
      list.push({ port: rinfo.port, address: rinfo.address });
      subscribers.set(room, list);
    }
    return;
  }
  const room = roomOfPublisher.get(key);
  if (room === undefined) return;
  for (const s of subscribers.get(room) ?? []) socket.send(m, s.port, s.address);
});
socket.bind(0, '127.0.0.1', () => process.stdout.write(`${socket.address().port}\n`));
process.on('SIGTERM', () => {
  socket.close();
  process.exit(0);
});
