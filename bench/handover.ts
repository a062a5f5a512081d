// Hand-over cost between two media workers (a room spanning workers): CPU per packet on the
// sending thread and on the receiving thread, one postMessage per packet against packets batched
// in one transferred ArrayBuffer (src/sfu/media/handover-batch.ts, as the relay sends them).
//
//   npm run bench:handover [-- --packets 200000 --bytes 1200]
//
// CPU is each thread's own (process.threadCpuUsage), so the two sides are measured apart even on a
// busy machine; wall time is printed for reference only.
import { isMainThread, MessageChannel, type MessagePort, parentPort, Worker } from 'node:worker_threads';
import { decodeHandoverBatch, HandoverBatchWriter } from '../src/sfu/media/handover-batch.ts';

interface Run {
  mode: 'single' | 'batch';
  packets: number;
  /** Packets per batch (batch mode). */
  batch: number;
}

type ToReceiver = { type: 'run'; run: Run; port: MessagePort } | { type: 'exit' };

function threadCpuMicros(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

if (!isMainThread) {
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
    port.on('message', (data: ArrayBuffer) => {
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
      if (received >= run.packets) {
        const cpu = threadCpuMicros() - cpuStart;
        port.close();
        parentPort!.postMessage({ cpu, received, bytes });
      }
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
  receiver.postMessage({ type: 'exit' } satisfies ToReceiver);
  await new Promise((resolve) => receiver.once('exit', resolve));
}
