import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ReceiveViews } from './receive-views.ts';
import { SrtpProfile, SrtpSession } from './srtp/srtp-session.ts';

function rtp(seq: number, payloadBytes: number): Buffer {
  const p = Buffer.alloc(12 + payloadBytes, seq & 0xff);
  p[0] = 0x80;
  p[1] = 96;
  p.writeUInt16BE(seq, 2);
  p.writeUInt32BE(0xdeadbeef, 8);
  return p;
}

describe('ReceiveViews', () => {
  const key = randomBytes(16);
  const salt = randomBytes(14);
  const sender = new SrtpSession(SrtpProfile.AES_CM_128_HMAC_SHA1_80, key, salt);
  const seal = (packet: Buffer) => sender.protectRtp(packet, packet.length);

  it('view(length) is scratch[0..length), one object per length', () => {
    const views = new ReceiveViews(64);
    const a = views.view(20);
    assert.equal(a.length, 20);
    assert.equal(a.buffer, views.scratch.buffer);
    assert.equal(a.byteOffset, views.scratch.byteOffset);
    assert.equal(views.view(20), a, 'the same view again');
    assert.notEqual(views.view(21), a);
    views.scratch[3] = 7;
    assert.equal(a[3], 7, 'a view of the scratch, not a copy');
  });

  it('unprotectRtp decrypts into the scratch, the same view for packets of one length', () => {
    const views = new ReceiveViews(200);
    const receiver = new SrtpSession(SrtpProfile.AES_CM_128_HMAC_SHA1_80, key, salt);
    const first = rtp(1, 100);
    const sealed = seal(first);
    const before = Buffer.from(sealed);
    const a = views.unprotectRtp(receiver, sealed);
    assert.ok(typeof a !== 'string');
    assert.deepEqual(a, first);
    assert.deepEqual(sealed, before, 'the datagram is left as it was');
    const second = rtp(2, 100);
    const b = views.unprotectRtp(receiver, seal(second));
    assert.equal(b, a);
    assert.deepEqual(b, second);
    assert.equal(views.unprotectRtp(receiver, seal(rtp(2, 100))), 'replayed');
  });

  it('decrypts in place while a receiver holds the scratch, and when the packet is longer than it', () => {
    const views = new ReceiveViews(200);
    const receiver = new SrtpSession(SrtpProfile.AES_CM_128_HMAC_SHA1_80, key, salt);
    const outer = views.unprotectRtp(receiver, seal(rtp(10, 50)));
    assert.ok(typeof outer !== 'string');
    const kept = Buffer.from(outer);
    views.deliver((packet) => {
      const inner = views.unprotectRtp(receiver, seal(rtp(11, 50)));
      assert.ok(typeof inner !== 'string');
      assert.notEqual(inner.buffer, views.scratch.buffer);
      assert.deepEqual(inner, rtp(11, 50));
      assert.deepEqual(packet, kept, 'the packet being delivered is intact');
    }, outer);
    const long = views.unprotectRtp(receiver, seal(rtp(12, 400)));
    assert.ok(typeof long !== 'string');
    assert.notEqual(long.buffer, views.scratch.buffer);
    assert.deepEqual(long, rtp(12, 400));
  });
});
