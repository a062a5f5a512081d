import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from './crc32.ts';
import {
  buildBindingError,
  buildBindingSuccess,
  looksLikeStun,
  parseStun,
  StunType,
  stunErrorCode,
  stunXorMappedAddress,
  verifyFingerprint,
  verifyIntegrity,
} from './stun.ts';
import { ipv4Bytes, ipv6Bytes } from './stun-address.ts';

// RFC 5769 test vectors (§2.1 sample request, §2.2/§2.3 sample responses); the padding bytes are
// 0x20 in the RFC, which any padding value allows.
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SAMPLE_REQUEST = hex(`00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74 00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36 00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2 80 28 00 04 e5 7a 3b cf`);
const SAMPLE_IPV4_RESPONSE = hex(`01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20 00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7 80 28 00 04 c0 7d 4c 96`);
const SAMPLE_IPV6_RESPONSE = hex(`01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20 00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79
  bc 25 f4 b5 be d2 b9 d9 00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);
const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

describe('stun', () => {
  it('crc32 matches the standard check value', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  it('parses the RFC 5769 sample request and verifies its integrity and fingerprint', () => {
    assert.equal(looksLikeStun(SAMPLE_REQUEST), true);
    const msg = parseStun(SAMPLE_REQUEST);
    assert.ok(msg);
    assert.equal(msg.type, StunType.BindingRequest);
    assert.equal(msg.username, 'evtj:h6vY');
    assert.equal(msg.priority, 0x6e0001ff);
    assert.equal(msg.iceControlling, false);
    assert.equal(verifyFingerprint(msg), true);
    assert.equal(verifyIntegrity(msg, PASSWORD), true);
    assert.equal(verifyIntegrity(msg, 'wrong password'), false);
  });

  it('verifies the RFC 5769 sample responses (IPv4 and IPv6)', () => {
    for (const vector of [SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE]) {
      const msg = parseStun(vector);
      assert.ok(msg);
      assert.equal(msg.type, StunType.BindingSuccess);
      assert.equal(verifyFingerprint(msg), true);
      assert.equal(verifyIntegrity(msg, PASSWORD), true);
    }
  });

  it('our response carries the same XOR-MAPPED-ADDRESS bytes as the RFC 5769 responses', () => {
    const tid = SAMPLE_REQUEST.subarray(8, 20);
    const v4 = buildBindingSuccess(tid, '192.0.2.1', 32853, 'IPv4', PASSWORD);
    assert.deepEqual(v4.subarray(20, 32), SAMPLE_IPV4_RESPONSE.subarray(36, 48));
    const v6 = buildBindingSuccess(tid, '2001:db8:1234:5678:11:2233:4455:6677', 32853, 'IPv6', PASSWORD);
    assert.deepEqual(v6.subarray(20, 44), SAMPLE_IPV6_RESPONSE.subarray(36, 60));
  });

  it('detects a tampered message', () => {
    const tampered = Buffer.from(SAMPLE_REQUEST);
    tampered[30] = tampered[30]! ^ 1;
    const msg = parseStun(tampered)!;
    assert.equal(verifyFingerprint(msg), false);
    assert.equal(verifyIntegrity(msg, PASSWORD), false);
  });

  it('rejects truncated and malformed messages without throwing', () => {
    for (let len = 0; len < SAMPLE_REQUEST.length; len++)
      assert.equal(parseStun(SAMPLE_REQUEST.subarray(0, len)), undefined);
    const badLength = Buffer.from(SAMPLE_REQUEST);
    badLength.writeUInt16BE(0x5c, 2);
    assert.equal(parseStun(badLength), undefined);
    const overrun = Buffer.from(SAMPLE_REQUEST);
    overrun.writeUInt16BE(0xfff0, 22);
    assert.equal(parseStun(overrun), undefined);
    assert.equal(parseStun(Buffer.from('hello world, not stun at all')), undefined);
  });

  it('builds Binding responses that verify, with the XOR-mapped address (IPv4 and IPv6)', () => {
    const tid = SAMPLE_REQUEST.subarray(8, 20);
    for (const [address, family] of [
      ['192.0.2.1', 'IPv4'],
      ['2001:db8:1234:5678:11:2233:4455:6677', 'IPv6'],
      ['::1', 'IPv6'],
    ] as const) {
      const res = buildBindingSuccess(tid, address, 32853, family, PASSWORD);
      const msg = parseStun(res);
      assert.ok(msg, family);
      assert.equal(msg.type, StunType.BindingSuccess);
      assert.deepEqual(msg.transactionId, tid);
      assert.equal(verifyIntegrity(msg, PASSWORD), true);
      assert.equal(verifyFingerprint(msg), true);
      // XOR-MAPPED-ADDRESS port: 32853 ^ 0x2112 (RFC 5769 §2.2 uses the same port).
      assert.equal(res.readUInt16BE(26), 32853 ^ 0x2112);
    }
    const v4 = buildBindingSuccess(tid, '192.0.2.1', 32853, 'IPv4', PASSWORD);
    assert.deepEqual(
      [...v4.subarray(28, 32)].map((b, i) => b ^ [0x21, 0x12, 0xa4, 0x42][i]!),
      [192, 0, 2, 1],
    );
  });

  it('builds error responses with a fingerprint', () => {
    const res = buildBindingError(SAMPLE_REQUEST.subarray(8, 20), 401, 'Unauthorized');
    const msg = parseStun(res)!;
    assert.equal(msg.type, StunType.BindingError);
    assert.equal(verifyFingerprint(msg), true);
    assert.equal(res[26]! * 100 + res[27]!, 401);
  });

  it('reads ICE-CONTROLLED and its tie-breaker (RFC 5769 sample request)', () => {
    const msg = parseStun(SAMPLE_REQUEST)!;
    assert.equal(msg.iceControlled, true);
    assert.equal(msg.iceControlling, false);
    assert.equal(msg.tieBreaker, 0x932ff9b151263b36n);
    assert.equal(msg.useCandidate, false);
  });

  it('decodes the XOR-MAPPED-ADDRESS of the RFC 5769 responses', () => {
    assert.deepEqual(stunXorMappedAddress(parseStun(SAMPLE_IPV4_RESPONSE)!), {
      address: '192.0.2.1',
      port: 32853,
      family: 'IPv4',
    });
    assert.deepEqual(stunXorMappedAddress(parseStun(SAMPLE_IPV6_RESPONSE)!), {
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
      family: 'IPv6',
    });
    assert.equal(stunXorMappedAddress(parseStun(SAMPLE_REQUEST)!), undefined);
  });

  it('builds 400, 401 and 487 error responses; 487 carries MESSAGE-INTEGRITY', () => {
    const tid = SAMPLE_REQUEST.subarray(8, 20);
    for (const [code, reason] of [
      [400, 'Bad Request'],
      [401, 'Unauthorized'],
    ] as const) {
      const msg = parseStun(buildBindingError(tid, code, reason))!;
      assert.equal(stunErrorCode(msg), code);
      assert.equal(msg.integrityOffset, -1);
      assert.equal(verifyFingerprint(msg), true);
    }
    const conflict = parseStun(buildBindingError(tid, 487, 'Role Conflict', PASSWORD))!;
    assert.equal(stunErrorCode(conflict), 487);
    assert.equal(verifyIntegrity(conflict, PASSWORD), true);
    assert.equal(verifyFingerprint(conflict), true);
  });

  it('FINGERPRINT must be the last attribute', () => {
    const withTrailer = Buffer.concat([SAMPLE_REQUEST, Buffer.from([0x80, 0x22, 0x00, 0x00])]);
    withTrailer.writeUInt16BE(withTrailer.length - 20, 2);
    const msg = parseStun(withTrailer)!;
    assert.equal(verifyFingerprint(msg), false);
  });

  it('parses addresses strictly: IPv4, IPv6 with ::, an IPv4 tail, a zone; junk is refused', () => {
    assert.deepEqual(ipv4Bytes('192.0.2.1'), Uint8Array.from([192, 0, 2, 1]));
    assert.equal(ipv4Bytes('256.0.0.1'), undefined);
    assert.equal(ipv4Bytes('1.2.3'), undefined);
    assert.deepEqual(ipv6Bytes('::1'), Uint8Array.from([...new Array(15).fill(0), 1]));
    assert.deepEqual(
      ipv6Bytes('::ffff:192.0.2.1')?.subarray(10),
      Uint8Array.from([0xff, 0xff, 192, 0, 2, 1]),
    );
    assert.deepEqual(ipv6Bytes('fe80::1%eth0')?.subarray(0, 2), Uint8Array.from([0xfe, 0x80]));
    assert.deepEqual(ipv6Bytes('2001:db8::')?.subarray(0, 4), Uint8Array.from([0x20, 0x01, 0x0d, 0xb8]));
    for (const bad of [
      '1::2::3',
      '12345::',
      'g::1',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4::5:6:7:8',
    ])
      assert.equal(ipv6Bytes(bad), undefined, bad);
    const res = buildBindingSuccess(SAMPLE_REQUEST.subarray(8, 20), 'not an address', 9, 'IPv6', PASSWORD);
    assert.deepEqual(stunXorMappedAddress(parseStun(res)!), {
      address: '0:0:0:0:0:0:0:0',
      port: 9,
      family: 'IPv6',
    });
  });
});
