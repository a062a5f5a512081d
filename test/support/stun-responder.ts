import dgram from 'node:dgram';
import { buildBindingSuccess, parseStun, StunType } from '../../src/transport/ice/index.ts';

/**
 * A STUN server for tests on 127.0.0.1: it answers each Binding request as `reply` says (a chosen
 * mapped address, or a broken answer), and counts the requests it got.
 */
export type StunReply =
  /** A Binding success whose XOR-MAPPED-ADDRESS is this IPv4 address. */
  | { mapped: string }
  /** A Binding success mapping to an IPv6 address. */
  | { mappedIpv6: string }
  /** A Binding success with another transaction id. */
  | { foreignTransaction: string }
  /** Bytes that are no STUN message. */
  | 'garbage'
  /** Nothing at all. */
  | 'silent';

export interface TestStunServer {
  port: number;
  url: string;
  requests(): number;
  close(): Promise<void>;
}

export async function startStunResponder(reply: StunReply): Promise<TestStunServer> {
  const socket = dgram.createSocket('udp4');
  let requests = 0;
  socket.on('message', (msg, from) => {
    const request = parseStun(msg);
    if (request?.type !== StunType.BindingRequest) return;
    requests++;
    const answer = answerFor(reply, request.transactionId, from.port);
    if (answer) socket.send(answer, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return {
    port,
    url: `stun:127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

// A STUN server's answer carries no MESSAGE-INTEGRITY; the client ignores this one (key of our choosing).
const PASSWORD = 'test-stun-server-password';

function answerFor(reply: StunReply, transactionId: Buffer, port: number): Buffer | undefined {
  if (reply === 'silent') return undefined;
  if (reply === 'garbage') return Buffer.from('this is not a STUN message at all');
  if ('mapped' in reply) return buildBindingSuccess(transactionId, reply.mapped, port, 'IPv4', PASSWORD);
  if ('mappedIpv6' in reply)
    return buildBindingSuccess(transactionId, reply.mappedIpv6, port, 'IPv6', PASSWORD);
  const other = Buffer.from(transactionId);
  other[0] = other[0]! ^ 0xff;
  return buildBindingSuccess(other, reply.foreignTransaction, port, 'IPv4', PASSWORD);
}
