import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import sctpLib from 'werift-sctp';
import type { DatagramSender } from '../datagram-sender.ts';
import { generateDtlsCertificate } from '../dtls/dtls-certificate.ts';
import { WebRtcTransport } from '../webrtc-transport.ts';
import { buildSctpPacket, SctpAssociation, sctpChecksum } from './index.ts';

const HEADER = { sourcePort: 5000, destinationPort: 5000, verificationTag: 0x01020304 };

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Two associations wired back to back, as two DTLS ends would carry them (asynchronously). */
function pair(options: { lose?: (packet: Buffer) => boolean } = {}) {
  let client: SctpAssociation | undefined;
  let server: SctpAssociation | undefined;
  const deliver = (to: () => SctpAssociation | undefined) => (packet: Buffer) => {
    if (options.lose?.(packet)) return;
    const copy = Buffer.from(packet);
    setImmediate(() => to()?.handle(copy));
  };
  client = new SctpAssociation({ dtlsRole: 'client', send: deliver(() => server) });
  server = new SctpAssociation({ dtlsRole: 'server', send: deliver(() => client) });
  return { client, server };
}

describe('SctpAssociation (werift-sctp with our DCEP)', () => {
  it('channels open from either side, carry string/binary/empty messages reliably and unordered, and close', async () => {
    const { client, server } = pair();
    const serverChannel = server.createDataChannel('track_quality');
    assert.equal(serverChannel?.id, 1, 'the DTLS server takes odd stream ids');
    assert.equal(serverChannel?.state, 'connecting');
    const atClient: Array<{ label: string; id: number }> = [];
    const received: Array<Buffer | string> = [];
    client.onDataChannel = (c) => {
      atClient.push({ label: c.label, id: c.id });
      c.onMessage = (m) => received.push(m);
    };
    server.start();
    client.start();
    await until(() => client.connected && server.connected, 'the association');
    await until(() => atClient.length === 1, "the server's channel at the client");
    assert.deepEqual(atClient, [{ label: 'track_quality', id: 1 }]);
    assert.ok(serverChannel?.send(Buffer.from('{"quality":2}')));
    assert.ok(serverChannel?.send('text'));
    assert.ok(serverChannel?.send(''));
    assert.ok(serverChannel?.send(Buffer.alloc(0)));
    const big = randomBytes(60_000);
    assert.ok(serverChannel?.send(big), 'fragmented and reassembled');
    await until(() => received.length === 5, 'five messages');
    assert.deepEqual(received.slice(0, 4), [Buffer.from('{"quality":2}'), 'text', '', Buffer.alloc(0)]);
    assert.ok(big.equals(received[4] as Buffer));

    const atServer: Array<Buffer | string> = [];
    let lossyAtServer: { ordered: boolean; maxRetransmits: number | undefined } | undefined;
    server.onDataChannel = (c) => {
      if (c.label === 'bbmeet-data-lossy')
        lossyAtServer = { ordered: c.ordered, maxRetransmits: c.maxRetransmits };
      c.onMessage = (m) => atServer.push(m);
    };
    const lossy = client.createDataChannel('bbmeet-data-lossy', { ordered: false, maxRetransmits: 0 })!;
    assert.equal(lossy.id, 0, 'the DTLS client takes even stream ids');
    assert.equal(lossy.state, 'open', 'opened at once on a running association');
    for (let i = 0; i < 20; i++) lossy.send(`m${i}`);
    await until(() => atServer.length === 20, 'the unordered messages');
    assert.deepEqual(lossyAtServer, { ordered: false, maxRetransmits: 0 });
    assert.deepEqual(new Set(atServer), new Set(Array.from({ length: 20 }, (_, i) => `m${i}`)));

    // Close from the client: its stream is reset, the server's channel closes too.
    let closedAtServer = false;
    const serverSide = server.channels.get(0)!;
    serverSide.onClose = () => {
      closedAtServer = true;
    };
    lossy.close();
    assert.equal(lossy.state, 'closed');
    assert.equal(lossy.send('late'), false, 'nothing is sent on a closed channel');
    await until(() => closedAtServer, 'the reset at the server');
    assert.equal(server.channels.has(0), false);
    client.close();
    server.close();
    assert.equal(serverChannel?.state, 'closed');
    assert.equal(client.channel('track_quality'), undefined);
  });

  it('malformed SCTP packets and DCEP messages are dropped and counted; the association carries on', async () => {
    const { client, server } = pair();
    let got = 0;
    client.onDataChannel = (c) => {
      c.onMessage = () => got++;
    };
    server.start();
    client.start();
    await until(() => client.connected && server.connected, 'the association');
    const before = server.stats.packetsDropped;
    const junk = [
      Buffer.alloc(0),
      randomBytes(11),
      buildSctpPacket(HEADER, [{ type: 64 }]),
      (() => {
        const p = buildSctpPacket(HEADER, [{ type: 0, body: Buffer.alloc(16) }]);
        p.writeUInt16BE(0, 14);
        p.writeUInt32LE(sctpChecksum(p), 8);
        return p;
      })(),
      ...Array.from({ length: 500 }, (_, i) => randomBytes(1 + (i % 200))),
    ];
    for (const p of junk) assert.doesNotThrow(() => server.handle(p));
    // Valid framing and checksum, wrong verification tag and random chunk bodies: the library refuses.
    for (let i = 0; i < 200; i++) {
      const p = buildSctpPacket(HEADER, [
        { type: [0, 3, 4, 6, 130, 192][i % 6]!, body: randomBytes(i % 40) },
      ]);
      assert.doesNotThrow(() => server.handle(p));
    }
    // Bounded: a loaded machine may take longer than the 50 ms this once waited.
    await until(() => server.stats.packetsDropped - before >= junk.length, 'the junk counted as dropped');
    assert.ok(
      server.stats.packetsDropped - before >= junk.length,
      `dropped ${server.stats.packetsDropped - before}`,
    );
    assert.equal(server.connected, true, 'still up');
    const channel = server.createDataChannel('after-junk')!;
    channel.send('still works');
    await until(() => got === 1, 'a message after the junk');
    client.close();
    server.close();
  });

  it('a burst of 1000 messages sent at once arrives complete and in order (sends are windowed)', async () => {
    const { client, server } = pair();
    const got: string[] = [];
    client.onDataChannel = (c) => {
      c.onMessage = (m) => got.push(m as string);
    };
    server.start();
    client.start();
    await until(() => client.connected && server.connected, 'the association');
    const channel = server.createDataChannel('bbmeet-data')!;
    const started = Date.now();
    for (let i = 0; i < 1000; i++) assert.ok(channel.send(`message ${i}`));
    await until(() => got.length === 1000, 'the burst', 20_000);
    assert.deepEqual(
      got,
      Array.from({ length: 1000 }, (_, i) => `message ${i}`),
    );
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    client.close();
    server.close();
  });

  it('a peer that ignores our receive window and never finishes a message is aborted past 4 MiB undelivered', async () => {
    const wire: {
      onData?: ((data: Buffer) => void) | undefined;
      send: (b: Buffer) => Promise<void>;
      close: () => void;
    } = {
      // Every last fragment is lost: the message never completes.
      send: async (b: Buffer) => {
        if (b[12] === 0 && (b[13]! & 1) === 1) return;
        const copy = Buffer.from(b);
        setImmediate(() => server.handle(copy));
      },
      close: () => undefined,
    };
    const server = new SctpAssociation({
      dtlsRole: 'server',
      send: (p) => {
        const copy = Buffer.from(p);
        setImmediate(() => wire.onData?.(copy));
      },
    });
    const raw = sctpLib.SCTP.client(wire as never, 5000);
    server.start();
    await raw.start(5000);
    await until(() => server.connected, 'the association');
    // A sender that ignores the window and congestion control.
    Object.defineProperty(raw, 'peerAdvertisedRwnd', { get: () => 1e9, set: () => undefined });
    Object.defineProperty(raw, 'cwnd', { get: () => 1e9, set: () => undefined });
    raw.send(0, 53, randomBytes(6 * 1024 * 1024)).catch(() => undefined);
    await until(() => !server.connected, 'the abort', 20_000);
    await raw.stop();
  });

  it('a message larger than the peer accepts is refused; nothing is sent before the association is up', () => {
    const small = new SctpAssociation({
      dtlsRole: 'server',
      remoteMaxMessageSize: 10,
      send: () => undefined,
    });
    const c = small.createDataChannel('x')!;
    assert.equal(c.send('hello'), false, 'not open yet');
    small.close();
    assert.equal(small.createDataChannel('y'), undefined, 'closed');
    assert.equal(c.state, 'closed');
  });

  it('a transport that closes (leave, consent timeout, DTLS failure) closes its association and channels', async () => {
    const sender = {
      send: () => undefined,
      claim: (n: number) => Buffer.alloc(n),
      sendClaimed: () => undefined,
      routeFrom: () => undefined,
      reindex: () => undefined,
      forget: () => undefined,
    } as unknown as DatagramSender<WebRtcTransport>;
    const transport = new WebRtcTransport({
      id: 't',
      sender,
      certificate: await generateDtlsCertificate(),
      candidates: [],
      nowMs: 0,
    });
    assert.equal(transport.enableDataChannels({}), undefined, 'not before the remote parameters');
    transport.setRemoteParameters({
      iceUfrag: 'u',
      icePwd: 'p'.repeat(22),
      fingerprints: [],
      setup: 'active',
    });
    const association = transport.enableDataChannels({ remotePort: 5000, maxMessageSize: 65_536 })!;
    assert.equal(transport.enableDataChannels({}), association, 'one association per transport');
    assert.equal(transport.dataChannels, association);
    const channel = association.createDataChannel('track_quality')!;
    assert.equal(channel.id % 2, 1, 'the browser is the DTLS client: we take odd ids');
    let closed = false;
    channel.onClose = () => {
      closed = true;
    };
    transport.close('consent_timeout');
    assert.ok(closed);
    assert.equal(association.createDataChannel('again'), undefined);
    assert.equal(association.channels.size, 0);
    assert.doesNotThrow(() => association.handle(Buffer.alloc(40)));
  });
});
