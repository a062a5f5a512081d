import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

/**
 * Just enough of a TURN client (RFC 8656) to ask a TURN server for a relay: an Allocate request,
 * the 401 challenge with REALM and NONCE, then the Allocate again with the long-term credential
 * (RFC 8489 section 9.2: MESSAGE-INTEGRITY keyed with MD5(username:realm:password)). Over UDP, or
 * over TCP where STUN messages are framed by their own length.
 */

const MAGIC_COOKIE = 0x2112a442;
const ALLOCATE_REQUEST = 0x0003;
const ALLOCATE_SUCCESS = 0x0103;
const ATTR = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
} as const;
const UDP_PROTOCOL = 17;
const REPLY_TIMEOUT_MS = 5000;

export type AllocateResult =
  | { ok: true; relayedAddress: string; relayedPort: number }
  | { ok: false; errorCode: number; reason: string };

interface StunMessage {
  type: number;
  attributes: Map<number, Buffer>;
}

/** Allocates a UDP relay at `server` with `username`/`credential`; resolves with the outcome. */
export async function turnAllocate(
  server: { host: string; port: number; transport: 'udp' | 'tcp' },
  username: string,
  credential: string,
): Promise<AllocateResult> {
  const exchange = server.transport === 'udp' ? await udpExchange(server) : await tcpExchange(server);
  try {
    const challenge = await exchange.request(allocate([]));
    const realm = challenge.attributes.get(ATTR.realm);
    const nonce = challenge.attributes.get(ATTR.nonce);
    if (!realm || !nonce) return outcome(challenge);
    const key = createHash('md5')
      .update(`${username}:${realm.toString('utf8')}:${credential}`)
      .digest();
    const attrs: Array<[number, Buffer]> = [
      [ATTR.username, Buffer.from(username, 'utf8')],
      [ATTR.realm, realm],
      [ATTR.nonce, nonce],
    ];
    return outcome(await exchange.request(withIntegrity(allocate(attrs), key)));
  } finally {
    exchange.close();
  }
}

function outcome(reply: StunMessage): AllocateResult {
  if (reply.type === ALLOCATE_SUCCESS) {
    const value = reply.attributes.get(ATTR.xorRelayedAddress);
    if (!value) return { ok: false, errorCode: 0, reason: 'no XOR-RELAYED-ADDRESS' };
    const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
    const ip = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
    return {
      ok: true,
      relayedAddress: [24, 16, 8, 0].map((s) => (ip >>> s) & 255).join('.'),
      relayedPort: port,
    };
  }
  const error = reply.attributes.get(ATTR.errorCode);
  if (!error) return { ok: false, errorCode: 0, reason: `reply type 0x${reply.type.toString(16)}` };
  return {
    ok: false,
    errorCode: (error[2]! & 7) * 100 + error[3]!,
    reason: error.subarray(4).toString('utf8'),
  };
}

function allocate(attrs: Array<[number, Buffer]>): Buffer {
  const transport = Buffer.from([UDP_PROTOCOL, 0, 0, 0]);
  return encode(ALLOCATE_REQUEST, randomBytes(12), [[ATTR.requestedTransport, transport], ...attrs]);
}

function encode(type: number, transactionId: Buffer, attrs: Array<[number, Buffer]>): Buffer {
  const parts = attrs.map(([attrType, value]) => {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(attrType, 0);
    header.writeUInt16BE(value.length, 2);
    return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
  });
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  return Buffer.concat([header, body]);
}

/** Appends MESSAGE-INTEGRITY: the HMAC covers the message with its length already counting it. */
function withIntegrity(message: Buffer, key: Buffer): Buffer {
  const counted = Buffer.from(message);
  counted.writeUInt16BE(message.length - 20 + 24, 2);
  const mac = createHmac('sha1', key).update(counted).digest();
  const attr = Buffer.alloc(4);
  attr.writeUInt16BE(ATTR.messageIntegrity, 0);
  attr.writeUInt16BE(20, 2);
  return Buffer.concat([counted, attr, mac]);
}

function decode(data: Buffer): StunMessage {
  const length = data.readUInt16BE(2);
  const attributes = new Map<number, Buffer>();
  for (let at = 20; at + 4 <= 20 + length; ) {
    const type = data.readUInt16BE(at);
    const size = data.readUInt16BE(at + 2);
    attributes.set(type, data.subarray(at + 4, at + 4 + size));
    at += 4 + size + ((4 - (size % 4)) % 4);
  }
  return { type: data.readUInt16BE(0), attributes };
}

interface Exchange {
  request(message: Buffer): Promise<StunMessage>;
  close(): void;
}

async function udpExchange(server: { host: string; port: number }): Promise<Exchange> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    request: (message) =>
      withTimeout(
        new Promise((resolve) => {
          socket.once('message', (data) => resolve(decode(data)));
          socket.send(message, server.port, server.host);
        }),
      ),
    close: () => socket.close(),
  };
}

async function tcpExchange(server: { host: string; port: number }): Promise<Exchange> {
  const socket = net.createConnection({ host: server.host, port: server.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let pending = Buffer.alloc(0);
  return {
    request: (message) =>
      withTimeout(
        new Promise((resolve) => {
          const onData = (chunk: Buffer) => {
            pending = Buffer.concat([pending, chunk]);
            if (pending.length < 20 || pending.length < 20 + pending.readUInt16BE(2)) return;
            const size = 20 + pending.readUInt16BE(2);
            const reply = pending.subarray(0, size);
            pending = pending.subarray(size);
            socket.off('data', onData);
            resolve(decode(reply));
          };
          socket.on('data', onData);
          socket.write(message);
        }),
      ),
    close: () => socket.destroy(),
  };
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no TURN reply within ${REPLY_TIMEOUT_MS} ms`)),
      REPLY_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
