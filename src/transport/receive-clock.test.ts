import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { prepareNativeAddon } from '../../test/support/native-addon.ts';
import { ReceiveClock } from './receive-clock.ts';
import { socketFd } from './send-queue.ts';
import { nativeAddon } from './srtp/native-addon.ts';

const SENT = 10;
const GAP_MS = 3;
const skip = prepareNativeAddon();

describe('ReceiveClock: the kernel’s receive time of each datagram', { skip }, () => {
  const socket = dgram.createSocket('udp4');
  before(async () => {
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
  });
  after(() => socket.close());

  it('datagrams that waited while the thread was busy keep the times they arrived, not the time they were read', async () => {
    const addon = nativeAddon();
    const clock = ReceiveClock.forSocket(addon, addon ? socketFd(addon, socket) : -1);
    assert.ok(clock, 'the addon tells receive times');
    // The sender, on its own thread: one datagram, then (once this thread is blocked) 9 more at
    // least GAP_MS apart; it raises `sent` when done, which is what the blocked handler waits for.
    const sent = new Int32Array(new SharedArrayBuffer(4));
    const sender = new Worker(
      `const { workerData } = require('node:worker_threads');
       const s = require('node:dgram').createSocket('udp4');
       const flag = new Int32Array(workerData.sent);
       const send = (i) => new Promise((r) => s.send(Buffer.from([i]), workerData.port, '127.0.0.1', r));
       (async () => {
         for (let i = 0; i < ${SENT}; i++) {
           await send(i);
           await new Promise((r) => setTimeout(r, ${GAP_MS}));
         }
         Atomics.store(flag, 0, 1);
         Atomics.notify(flag, 0);
         s.close();
       })();`,
      { eval: true, workerData: { sent: sent.buffer, port: socket.address().port } },
    );
    const rows: Array<{ readUs: number; arrivalUs: number }> = [];
    const arrival = new Float64Array(1);
    const done = new Promise<void>((resolve) => {
      socket.on('message', () => {
        clock.readArrivalUs(arrival);
        rows.push({ readUs: performance.now() * 1000, arrivalUs: arrival[0]! });
        // Busy until every datagram was sent (bounded): the other nine wait in the socket buffer.
        if (rows.length === 1) Atomics.wait(sent, 0, 0, 5_000);
        if (rows.length === SENT) resolve();
      });
    });
    await done;
    await sender.terminate();
    const queued = rows.slice(1);
    const readSpanMs = (queued.at(-1)!.readUs - queued[0]!.readUs) / 1000;
    const arrivalSpanMs = (queued.at(-1)!.arrivalUs - queued[0]!.arrivalUs) / 1000;
    // Read in one go once the thread was free: within a few ms of each other.
    assert.ok(readSpanMs < ((SENT - 2) * GAP_MS) / 2, `read within ${readSpanMs} ms`);
    // Arrived as sent, at least GAP_MS apart each.
    assert.ok(arrivalSpanMs >= (SENT - 2) * GAP_MS * 0.9, `arrived over ${arrivalSpanMs} ms`);
    for (const [i, row] of rows.entries()) {
      assert.ok(row.arrivalUs <= row.readUs, `datagram ${i} arrived before it was read`);
      if (i > 0) assert.ok(row.arrivalUs >= rows[i - 1]!.arrivalUs, `datagram ${i} arrived after ${i - 1}`);
    }
  });

  it('without the addon the time is now', () => {
    assert.equal(ReceiveClock.forSocket(undefined, 3), undefined);
  });
});
