import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzBytes, fuzzParser, fuzzRuns } from '../../../test/fuzz/byte-fuzz.ts';
import { corpusSeeds } from '../../../test/fuzz/corpus.ts';
import { buildDataChannelOpen, parseDcep, SctpAssociation, sctpChecksum } from './index.ts';
import { checkSctpPacket, SCTP_COMMON_HEADER_BYTES } from './packet.ts';

/**
 * Fuzz target: SCTP packets (RFC 9260) and DCEP (RFC 8832) from the peer's DTLS application data.
 * Our framing check never throws and passes only packets whose chunks lie inside them; what it
 * passes (mutated packets with their checksum made right again) is fed to a live association
 * running werift-sctp, which must neither throw nor leave an error unhandled nor hang; parseDcep
 * returns undefined for anything malformed.
 */

const DEFAULT_RUNS = 3000;
const ASSOCIATION_RUNS = 300;
const seeds = corpusSeeds('sctp');
/** Chunk types (DATA, INIT, SACK, RE-CONFIG…) followed by flags and a 16-bit length. */
const LENGTH_PREFIXES = [0x00, 0x01, 0x03, 0x0a, 0x82, 0xc0];

/** The chunks' extents, walked as checkSctpPacket does, for packets it accepted. */
function chunkEnds(packet: Uint8Array): number[] {
  const view = Buffer.from(packet);
  const ends: number[] = [];
  for (let pos = SCTP_COMMON_HEADER_BYTES; pos < view.length; ) {
    const length = view.readUInt16BE(pos + 2);
    ends.push(pos + length);
    pos += length + ((4 - (length % 4)) % 4);
  }
  return ends;
}

function withChecksum(bytes: Uint8Array): Buffer {
  const packet = Buffer.from(bytes);
  if (packet.length >= SCTP_COMMON_HEADER_BYTES) packet.writeUInt32LE(sctpChecksum(packet), 8);
  return packet;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('SCTP and DCEP fuzz target', () => {
  it('checkSctpPacket accepts or refuses every packet without throwing; accepted chunks lie inside the packet', () => {
    fuzzParser(
      {
        parse: (bytes) => checkSctpPacket(withChecksum(bytes)),
        isCleanError: () => false,
        check(bytes, result) {
          if (!result.ok) return;
          for (const end of chunkEnds(bytes)) assert.ok(end <= bytes.length, `chunk ends at ${end}`);
        },
      },
      { seeds, lengthPrefixes: LENGTH_PREFIXES, defaultRuns: DEFAULT_RUNS },
    );
  });

  it('parseDcep returns a message or undefined; an OPEN names a label and protocol inside the message', () => {
    const dcepSeeds = [
      buildDataChannelOpen({ label: 'bbmeet-data', protocol: '', ordered: true, priority: 256 }),
      buildDataChannelOpen({
        label: 'chat',
        protocol: 'json',
        ordered: false,
        maxRetransmits: 3,
        priority: 0,
      }),
      buildDataChannelOpen({
        label: 'x',
        protocol: 'y',
        ordered: true,
        maxPacketLifeTimeMs: 500,
        priority: 1,
      }),
      Buffer.from([0x02]),
    ].map((b) => new Uint8Array(b));
    fuzzParser(
      {
        parse: (bytes) => parseDcep(Buffer.from(bytes)),
        isCleanError: () => false,
        check(bytes, message) {
          if (message?.type !== 'open') return;
          const { label, protocol } = message.parameters;
          assert.equal(12 + Buffer.byteLength(label) + Buffer.byteLength(protocol), bytes.length);
        },
        maxRetainedFactor: 8,
      },
      { seeds: dcepSeeds, lengthPrefixes: [0x03, 0x00], defaultRuns: DEFAULT_RUNS },
    );
  });

  it('a connected association takes mutated packets with a right checksum without throwing or hanging', async () => {
    let client: SctpAssociation | undefined;
    let server: SctpAssociation | undefined;
    const deliver = (to: () => SctpAssociation | undefined) => (packet: Buffer) => {
      const copy = Buffer.from(packet);
      setImmediate(() => to()?.handle(copy));
    };
    client = new SctpAssociation({ dtlsRole: 'client', send: deliver(() => server) });
    server = new SctpAssociation({ dtlsRole: 'server', send: deliver(() => client) });
    server.start();
    client.start();
    await until(() => client.connected && server.connected, 'the association');
    let target = server;
    await fc.assert(
      fc.asyncProperty(
        fuzzBytes({ seeds, lengthPrefixes: LENGTH_PREFIXES, defaultRuns: 0 }),
        async (bytes) => {
          // An ABORT or SHUTDOWN may close the connected end: the next inputs go to a listening one.
          if (target === server && !server.connected) {
            target = new SctpAssociation({ dtlsRole: 'server', send: () => undefined });
            target.start();
          }
          const started = performance.now();
          target.handle(withChecksum(bytes));
          await new Promise((resolve) => setImmediate(resolve));
          assert.ok(performance.now() - started < 1000, 'one packet handled promptly');
        },
      ),
      { numRuns: fuzzRuns(ASSOCIATION_RUNS) },
    );
    client.close();
    server.close();
    target.close();
  });
});
