// Hand-over cost between two media workers (a room spanning workers): CPU per packet on the
// sending thread and on the receiving thread, one postMessage per packet against packets batched
// in one transferred ArrayBuffer (src/sfu/media/handover-batch.ts, as the relay sends them).
//
//   npm run bench:handover [-- --packets 200000 --bytes 1200 --seconds 2]
//
// Part 1 sends packets as fast as it can, in batches of a fixed size. Part 2 is the relay's real
// batching: packets arrive as UDP datagrams (a blaster thread sends them in 1 ms bursts at a given
// rate) and each is appended to a writer that flushes at setImmediate, i.e. after each I/O burst;
// it shows how many packets a batch holds at that rate and the hand-over's CPU per packet (the
// sending side as the difference to a run without the hand-over; a 2 ms flush timer for comparison).
//
// CPU is each thread's own (process.threadCpuUsage), so the two sides are measured apart even on a
// busy machine; wall time is printed for reference only.
import dgram from 'node:dgram';
import {
  isMainThread,
  MessageChannel,
  type MessagePort,
  parentPort,
  Worker,
  workerData,
} from 'node:worker_threads';
import { decodeHandoverBatch, HandoverBatchWriter } from '../src/sfu/media/handover-batch.ts';

interface Run {
  mode: 'single' | 'batch' | 'udp';
  /** Packets to expect; the udp mode ends on an 'end' message instead. */
  packets: number;
  /** Packets per batch (batch mode). */
  batch: number;
}

type ToReceiver = { type: 'run'; run: Run; port: MessagePort } | { type: 'exit' };

function threadCpuMicros(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

interface BlasterData {
  role: 'blaster';
  port: number;
  rate: number;
  seconds: number;
  bytes: number;
}

if (!isMainThread && (workerData as BlasterData | null)?.role === 'blaster') {
  // Blaster: `rate` datagrams per second to the port, in bursts every millisecond.
  const { port, rate, seconds, bytes } = workerData as BlasterData;
  const socket = dgram.createSocket('udp4');
  socket.connect(port, '127.0.0.1', () => {
    const payload = Buffer.alloc(bytes, 0xcd);
    payload[0] = 0x80;
    payload[1] = 96;
    const start = performance.now();
    let sent = 0;
    const tick = () => {
      const elapsed = performance.now() - start;
      if (elapsed >= seconds * 1000) {
        socket.close();
        return;
      }
      const due = Math.floor((rate * elapsed) / 1000);
      while (sent < due) {
        payload.writeUInt16BE(sent & 0xffff, 2);
        socket.send(payload);
        sent++;
      }
      setTimeout(tick, 1);
    };
    tick();
  });
} else if (!isMainThread) {
  // Receiver: counts what arrives on the port it is given, then reports its own CPU.
  parentPort!.on('message', (msg: ToReceiver) => {
    if (msg.type === 'exit') {
      parentPort!.close();
      return;
    }
    const { run, port } = msg;
    let received = 0;
    let bytes = 0;
    let cpuStart = -1;
    const finish = () => {
      const cpu = threadCpuMicros() - cpuStart;
      port.close();
      parentPort!.postMessage({ cpu, received, bytes });
    };
    port.on('message', (data: ArrayBuffer | 'end') => {
      if (data === 'end') {
        if (cpuStart < 0) cpuStart = threadCpuMicros();
        finish();
        return;
      }
      if (cpuStart < 0) cpuStart = threadCpuMicros();
      if (run.mode === 'single') {
        const packet = Buffer.from(data);
        bytes += packet.length;
        received++;
      } else {
        received += decodeHandoverBatch(data, (_relayId, _layer, packet) => {
          bytes += packet.length;
        });
      }
      if (run.mode !== 'udp' && received >= run.packets) finish();
    });
  });
} else {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const packets = option('packets', 200_000);
  const bytes = option('bytes', 1200);
  const packet = Buffer.alloc(bytes, 0xab);
  packet[0] = 0x80;
  packet[1] = 96;

  const receiver = new Worker(new URL(import.meta.url), { name: 'handover-receiver' });
  const result = (): Promise<{ cpu: number; received: number }> =>
    new Promise((resolve) => receiver.once('message', resolve));

  async function measure(run: Run): Promise<{ send: number; receive: number; wallMs: number }> {
    const { port1, port2 } = new MessageChannel();
    const done = result();
    receiver.postMessage({ type: 'run', run, port: port2 }, [port2]);
    const wallStart = performance.now();
    const cpuStart = threadCpuMicros();
    if (run.mode === 'single') {
      for (let i = 0; i < run.packets; i++) {
        const copy = new ArrayBuffer(packet.length);
        new Uint8Array(copy).set(packet);
        packet.writeUInt16BE(i & 0xffff, 2);
        port1.postMessage(copy, [copy]);
      }
    } else {
      const writer = new HandoverBatchWriter({
        capacity: 8 + run.batch * (8 + packet.length),
        autoFlush: false,
        onBatch: (batch) => port1.postMessage(batch, [batch]),
      });
      for (let i = 0; i < run.packets; i++) {
        packet.writeUInt16BE(i & 0xffff, 2);
        writer.append(1, 0, packet);
        if (writer.pending === run.batch) writer.flush();
      }
      writer.flush();
    }
    const send = threadCpuMicros() - cpuStart;
    const { cpu: receive } = await done;
    const wallMs = performance.now() - wallStart;
    port1.close();
    return { send: send / run.packets, receive: receive / run.packets, wallMs };
  }

  const runs: Run[] = [
    { mode: 'single', packets, batch: 1 },
    { mode: 'batch', packets, batch: 8 },
    { mode: 'batch', packets, batch: 16 },
    { mode: 'batch', packets, batch: 32 },
  ];
  // Warm-up (JIT), then the measured runs, each twice; the better of two is printed.
  for (const run of runs) await measure({ ...run, packets: Math.min(20_000, packets) });
  console.log(`hand-over between two worker threads: ${packets} packets of ${bytes} B per run`);
  console.log('mode                  send µs/pkt  receive µs/pkt  total µs/pkt  wall ms');
  for (const run of runs) {
    const a = await measure(run);
    const b = await measure(run);
    const best = a.send + a.receive <= b.send + b.receive ? a : b;
    const label = run.mode === 'single' ? 'one postMessage/pkt' : `batch of ${run.batch}`;
    console.log(
      `${label.padEnd(22)}${best.send.toFixed(2).padStart(12)}${best.receive.toFixed(2).padStart(16)}${(best.send + best.receive).toFixed(2).padStart(14)}${best.wallMs.toFixed(0).padStart(9)}`,
    );
  }
  // Part 2: the relay's own batching of UDP arrivals.
  const seconds = option('seconds', 2);
  /**
   * One run: the blaster's datagrams are received here and (unless `flush` is 'none') handed over
   * to the receiver thread, flushed at setImmediate (the relay's policy) or by a 2 ms timer (for
   * comparison). Returns this thread's CPU and the receiver's.
   */
  async function udpRun(
    rate: number,
    flush: 'none' | 'immediate' | 'timer',
  ): Promise<{ mainCpu: number; receiveCpu: number; received: number; perBatch: number }> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.setRecvBufferSize(4 * 1024 * 1024);
    const { port1, port2 } = new MessageChannel();
    const done = result();
    receiver.postMessage({ type: 'run', run: { mode: 'udp', packets: 0, batch: 0 }, port: port2 }, [port2]);
    const writer = new HandoverBatchWriter({
      autoFlush: flush === 'immediate',
      onBatch: (batch) => port1.postMessage(batch, [batch]),
    });
    let timer: NodeJS.Timeout | undefined;
    let received = 0;
    socket.on('message', (msg) => {
      received++;
      if (flush === 'none') return;
      writer.append(1, 0, msg);
      if (flush === 'timer' && timer === undefined)
        timer = setTimeout(() => {
          timer = undefined;
          writer.flush();
        }, 2);
    });
    const cpuStart = threadCpuMicros();
    const blaster = new Worker(new URL(import.meta.url), {
      workerData: {
        role: 'blaster',
        port: socket.address().port,
        rate,
        seconds,
        bytes,
      } satisfies BlasterData,
    });
    await new Promise((resolve) => blaster.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    writer.flush();
    const mainCpu = threadCpuMicros() - cpuStart;
    port1.postMessage('end');
    const { cpu: receiveCpu } = await done;
    port1.close();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    return {
      mainCpu,
      receiveCpu,
      received,
      perBatch: writer.batches > 0 ? writer.packets / writer.batches : 0,
    };
  }
  console.log('');
  console.log(`relay batching of UDP arrivals (1 ms bursts, ${seconds} s per run)`);
  console.log(
    'send µs/pkt: CPU of the thread taking the datagrams, with the hand-over minus without it, per packet',
  );
  console.log('rate pps  flush       pkts/batch  send µs/pkt  receive µs/pkt  total µs/pkt');
  for (const rate of [2_000, 10_000, 20_000]) {
    const base = await udpRun(rate, 'none');
    for (const flush of ['immediate', 'timer'] as const) {
      const r = await udpRun(rate, flush);
      const send = Math.max(0, r.mainCpu / r.received - base.mainCpu / base.received);
      const receive = r.receiveCpu / r.received;
      const label = flush === 'immediate' ? 'setImmediate' : '2 ms timer';
      console.log(
        `${String(rate).padStart(8)}  ${label.padEnd(12)}${r.perBatch.toFixed(1).padStart(10)}${send.toFixed(2).padStart(13)}${receive.toFixed(2).padStart(16)}${(send + receive).toFixed(2).padStart(14)}`,
      );
    }
  }
  receiver.postMessage({ type: 'exit' } satisfies ToReceiver);
  await new Promise((resolve) => receiver.once('exit', resolve));
}
