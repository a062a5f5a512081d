import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  buildDataChannelAck,
  buildDataChannelOpen,
  buildSctpPacket,
  checkSctpPacket,
  parseDcep,
  sctpChecksum,
} from './index.ts';

// The wire formats alone: SCTP packets and DCEP messages (sctp.test.ts runs associations).
const HEADER = { sourcePort: 5000, destinationPort: 5000, verificationTag: 0x01020304 };

describe('SCTP packets (RFC 9260 framing, CRC32c)', () => {
  it('the checksum is CRC32c over the packet with its checksum field zeroed', () => {
    // RFC 3720 B.4 test vector: 32 bytes of zeros → 0x8a9136aa; our function zeroes bytes 8..11.
    assert.equal(sctpChecksum(Buffer.alloc(32)), 0x8a9136aa);
    const packet = buildSctpPacket(HEADER, [{ type: 3, body: Buffer.alloc(12) }]);
    const copy = Buffer.from(packet);
    copy.writeUInt32LE(0xdeadbeef, 8);
    assert.equal(sctpChecksum(copy), packet.readUInt32LE(8), 'the field itself does not count');
  });

  it('a well-formed packet passes: chunks padded to 4 bytes, several chunks', () => {
    const packet = buildSctpPacket(HEADER, [
      { type: 0, flags: 3, body: Buffer.from('hello') },
      { type: 3, body: Buffer.alloc(12) },
    ]);
    assert.equal(packet.length, 12 + 12 + 16);
    assert.equal(packet.readUInt16BE(12 + 2), 9, 'the length field leaves the padding out');
    assert.deepEqual(checkSctpPacket(packet), { ok: true });
  });

  it('malformed packets are refused with a reason, never thrown', () => {
    const good = buildSctpPacket(HEADER, [{ type: 0, body: Buffer.from('payload!') }]);
    const zeroLength = Buffer.from(good);
    zeroLength.writeUInt16BE(0, 14);
    zeroLength.writeUInt32LE(sctpChecksum(zeroLength), 8);
    const pastTheEnd = Buffer.from(good);
    pastTheEnd.writeUInt16BE(200, 14);
    pastTheEnd.writeUInt32LE(sctpChecksum(pastTheEnd), 8);
    const badChecksum = Buffer.from(good);
    badChecksum[20] = badChecksum[20]! ^ 0xff;
    const cases: Array<[Buffer, string]> = [
      [Buffer.alloc(0), 'short'],
      [good.subarray(0, 15), 'short'],
      [buildSctpPacket(HEADER, [{ type: 64, body: Buffer.alloc(4) }]), 'unknown_chunk'],
      [buildSctpPacket(HEADER, [{ type: 0xc1 }]), 'unknown_chunk'],
      [zeroLength, 'chunk_length'],
      [pastTheEnd, 'chunk_length'],
      [Buffer.concat([good, Buffer.from([1, 2])]), 'chunk_length'],
      [badChecksum, 'checksum'],
    ];
    for (const [packet, reason] of cases)
      assert.deepEqual(checkSctpPacket(packet), { ok: false, reason }, reason);
    for (let i = 0; i < 2000; i++) assert.doesNotThrow(() => checkSctpPacket(randomBytes(i % 300)));
  });
  it('a chunk parameter of length 0 is refused (werift-sctp loops forever on it, allocating until out of memory)', () => {
    // Found by src/transport/sctp/sctp.fuzz.test.ts: an INIT-ACK whose last parameter header says 0.
    const param = (type: number, value: Buffer, length = 4 + value.length) => {
      const out = Buffer.alloc(4 + value.length + ((4 - (value.length % 4)) % 4));
      out.writeUInt16BE(type, 0);
      out.writeUInt16BE(length, 2);
      value.copy(out, 4);
      return out;
    };
    const init = (params: Buffer[]) => Buffer.concat([Buffer.alloc(16, 1), ...params]);
    const forwardTsn = param(0xc000, Buffer.alloc(0));
    const zero = param(0x0007, Buffer.alloc(4), 0);
    const past = param(0x0007, Buffer.alloc(4), 40);
    const cases: Array<[number, Buffer]> = [
      [1, init([forwardTsn, zero])],
      [2, init([zero])],
      [2, init([forwardTsn, past])],
      [4, zero],
      [5, Buffer.concat([param(1, Buffer.alloc(8)), zero])],
      [6, zero],
      [9, zero],
      [130, zero],
    ];
    for (const [type, body] of cases) {
      const packet = buildSctpPacket(HEADER, [{ type, body }]);
      assert.deepEqual(checkSctpPacket(packet), { ok: false, reason: 'parameter_length' }, `chunk ${type}`);
    }
    const wellFormed = buildSctpPacket(HEADER, [
      { type: 2, body: init([forwardTsn, param(7, Buffer.alloc(24))]) },
    ]);
    assert.deepEqual(checkSctpPacket(wellFormed), { ok: true });
    assert.deepEqual(
      checkSctpPacket(buildSctpPacket(HEADER, [{ type: 4, body: param(1, Buffer.alloc(5)) }])),
      {
        ok: true,
      },
    );
  });
});

describe('DCEP (RFC 8832)', () => {
  it('DATA_CHANNEL_OPEN round-trips for reliable, unordered/maxRetransmits and timed channels', () => {
    const reliable = buildDataChannelOpen({
      label: 'bbmeet-data',
      protocol: '',
      ordered: true,
      priority: 256,
    });
    assert.deepEqual([...reliable.subarray(0, 12)], [3, 0x00, 1, 0, 0, 0, 0, 0, 0, 11, 0, 0]);
    assert.deepEqual(parseDcep(reliable), {
      type: 'open',
      parameters: {
        label: 'bbmeet-data',
        protocol: '',
        ordered: true,
        maxRetransmits: undefined,
        maxPacketLifeTimeMs: undefined,
        priority: 256,
      },
    });
    const lossy = buildDataChannelOpen({
      label: 'l',
      protocol: 'p',
      ordered: false,
      maxRetransmits: 0,
      priority: 0,
    });
    assert.equal(lossy[1], 0x81);
    const parsed = parseDcep(lossy);
    assert.ok(
      parsed?.type === 'open' && parsed.parameters.maxRetransmits === 0 && !parsed.parameters.ordered,
    );
    const timed = parseDcep(
      buildDataChannelOpen({
        label: 'ü',
        protocol: '',
        ordered: true,
        maxPacketLifeTimeMs: 500,
        priority: 0,
      }),
    );
    assert.ok(
      timed?.type === 'open' &&
        timed.parameters.maxPacketLifeTimeMs === 500 &&
        timed.parameters.label === 'ü',
    );
    assert.deepEqual(parseDcep(buildDataChannelAck()), { type: 'ack' });
  });

  it('malformed DCEP messages are undefined', () => {
    const open = buildDataChannelOpen({ label: 'abc', protocol: 'x', ordered: true, priority: 0 });
    const badType = Buffer.from(open);
    badType[1] = 0x03;
    const badUtf8 = Buffer.from(open);
    badUtf8[12] = 0xff;
    for (const m of [
      Buffer.alloc(0),
      Buffer.from([2, 0]),
      Buffer.from([9]),
      open.subarray(0, 11),
      open.subarray(0, open.length - 1),
      Buffer.concat([open, Buffer.from([0])]),
      badType,
      badUtf8,
    ])
      assert.equal(parseDcep(m), undefined, m.toString('hex'));
    for (let i = 0; i < 2000; i++) assert.doesNotThrow(() => parseDcep(randomBytes(i % 64)));
  });
});
