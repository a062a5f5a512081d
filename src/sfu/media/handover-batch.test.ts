import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BATCH_HEADER_BYTES,
  decodeHandoverBatch,
  HANDOVER_MAGIC,
  HandoverBatchError,
  HandoverBatchWriter,
  RECORD_HEADER_BYTES,
} from './handover-batch.ts';

function rtp(seq: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes, seq & 0xff);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  return b;
}

function decodeAll(batch: ArrayBuffer): Array<{ relayId: number; layer: number; packet: Buffer }> {
  const out: Array<{ relayId: number; layer: number; packet: Buffer }> = [];
  decodeHandoverBatch(batch, (relayId, layer, packet) =>
    out.push({ relayId, layer, packet: Buffer.from(packet) }),
  );
  return out;
}

describe('handover batch codec', () => {
  it('round-trips packets of several tracks and layers, in order, with their bytes', () => {
    const batches: ArrayBuffer[] = [];
    const writer = new HandoverBatchWriter({ onBatch: (b) => batches.push(b), autoFlush: false });
    const sent = [
      { relayId: 1, layer: 0, packet: rtp(1, 1200) },
      { relayId: 7, layer: 2, packet: rtp(2, 60) },
      { relayId: 0xfffffffe, layer: 1, packet: rtp(3, 12) },
    ];
    for (const s of sent) writer.append(s.relayId, s.layer, s.packet);
    assert.equal(writer.pending, 3);
    assert.equal(batches.length, 0, 'nothing leaves before flush');
    writer.flush();
    assert.equal(batches.length, 1);
    assert.equal(
      batches[0]!.byteLength,
      BATCH_HEADER_BYTES + 3 * RECORD_HEADER_BYTES + 1200 + 60 + 12,
      'the batch is exactly what was written',
    );
    assert.deepEqual(decodeAll(batches[0]!), sent);
    writer.flush();
    assert.equal(batches.length, 1, 'an empty flush sends nothing');
    assert.equal(writer.batches, 1);
    assert.equal(writer.packets, 3);
  });

  it('starts a new batch when a packet does not fit, and leaves out packets larger than a batch', () => {
    const counts: number[] = [];
    const batches: ArrayBuffer[] = [];
    const writer = new HandoverBatchWriter({
      capacity: BATCH_HEADER_BYTES + 2 * (RECORD_HEADER_BYTES + 1000),
      onBatch: (b, n) => {
        batches.push(b);
        counts.push(n);
      },
      autoFlush: false,
    });
    for (let i = 0; i < 5; i++) writer.append(1, 0, rtp(i, 1000));
    writer.append(1, 0, rtp(99, 5000));
    writer.flush();
    assert.deepEqual(counts, [2, 2, 1]);
    assert.equal(writer.oversized, 1);
    const seqs = batches.flatMap((b) => decodeAll(b).map((p) => p.packet.readUInt16BE(2)));
    assert.deepEqual(seqs, [0, 1, 2, 3, 4]);
  });

  it('flushes on its own after the current burst (setImmediate)', async () => {
    const counts: number[] = [];
    const writer = new HandoverBatchWriter({ onBatch: (_b, n) => counts.push(n) });
    for (let i = 0; i < 4; i++) writer.append(3, 0, rtp(i, 100));
    assert.deepEqual(counts, []);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(counts, [4]);
    writer.append(3, 0, rtp(5, 100));
    writer.close();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(counts, [4], 'close() drops what is pending');
  });

  it('rejects malformed batches before delivering anything', () => {
    const writer = new HandoverBatchWriter({ onBatch: () => undefined, autoFlush: false });
    let good: ArrayBuffer | undefined;
    const w = new HandoverBatchWriter({ onBatch: (b) => (good = b), autoFlush: false });
    w.append(1, 0, rtp(1, 100));
    w.append(2, 0, rtp(2, 100));
    w.flush();
    writer.close();
    const bytes = new Uint8Array(good!);
    const variants: Array<[string, ArrayBuffer]> = [
      ['too short for a header', new ArrayBuffer(4)],
      ['wrong magic', withU32(bytes, 0, 0xdeadbeef)],
      ['count larger than the records', withU32(bytes, 4, 3)],
      ['count smaller than the records (trailing bytes)', withU32(bytes, 4, 1)],
      ['truncated', bytes.slice(0, bytes.length - 10).buffer],
      ['record length past the end', withU16(bytes, BATCH_HEADER_BYTES + 6, 0xffff)],
      ['empty record', withU16(bytes, BATCH_HEADER_BYTES + 6, 0)],
      ['huge count', withU32(bytes, 4, 0xffffffff)],
    ];
    for (const [what, batch] of variants) {
      let delivered = 0;
      assert.throws(
        () => decodeHandoverBatch(batch, () => delivered++),
        HandoverBatchError,
        `${what} is rejected`,
      );
      assert.equal(delivered, 0, `${what}: nothing delivered`);
    }
    assert.throws(
      () => decodeHandoverBatch('junk' as unknown as ArrayBuffer, () => undefined),
      HandoverBatchError,
    );
    assert.equal(
      decodeHandoverBatch(good!, () => undefined),
      2,
      'the original still decodes',
    );
  });

  it('random bytes never crash the decoder: they are rejected or decode within bounds', () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let n = 0; n < 2000; n++) {
      const bytes = new Uint8Array(Math.floor(random() * 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
      if (bytes.length >= 8 && random() < 0.5) new DataView(bytes.buffer).setUint32(0, HANDOVER_MAGIC);
      try {
        decodeHandoverBatch(bytes.buffer, (_id, _layer, packet) => {
          assert.ok(packet.byteOffset + packet.length <= bytes.length);
        });
      } catch (err) {
        assert.ok(err instanceof HandoverBatchError, String(err));
      }
    }
  });
});

function withU32(bytes: Uint8Array, at: number, value: number): ArrayBuffer {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(at, value);
  return copy.buffer;
}

function withU16(bytes: Uint8Array, at: number, value: number): ArrayBuffer {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint16(at, value);
  return copy.buffer;
}
