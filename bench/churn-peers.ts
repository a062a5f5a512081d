// The soak's side of a load process: participants that join and leave one at a time while the
// others keep flowing (bench/soak.ts decides who and when). A participant holds one signalling
// connection, its publisher if it publishes, and one subscriber per publisher it receives; what a
// closed peer counted is kept, so the process's counters never go backwards.
import type { DtlsCertificate } from '../src/transport/dtls/dtls-certificate.ts';
import { LoadPublisher, LoadSubscriber } from './load-peer.ts';
import type { LoadParticipant, LoadStats } from './load-process.ts';
import { type Signal, WaterbusSignal } from './signal.ts';

/** Counters of the peers already closed: the cumulative counters of a load process's stats. */
export type Retired = Omit<
  LoadStats,
  | 'sendErrors'
  | 'streamErrors'
  | 'latenciesUs'
  | 'firstRtpMs'
  | 'subscriptions'
  | 'subscriptionsWithMedia'
  | 'layerRequests'
>;

export const noneRetired = (): Retired => ({
  packetsSent: 0,
  bytesSent: 0,
  keyframeRequests: 0,
  packetsReceived: 0,
  bytesReceived: 0,
  lost: 0,
  expected: 0,
  sampled: 0,
  authFailures: 0,
});

interface Live {
  signal: Signal;
  publisher: LoadPublisher | undefined;
  subscriptions: Map<string, LoadSubscriber>;
}

/**
 * Lifecycle: `join` / `retarget` / `leave` any number of times, in any order between participants
 * (one operation at a time per participant: the orchestrator's job), then `closeAll()`.
 */
export class ChurnPeers {
  readonly #certificate: DtlsCertificate;
  readonly #sampleEvery: number;
  readonly #live = new Map<string, Live>();
  /** The process's send loop ticks these; the stats read both lists. */
  readonly publishers: LoadPublisher[];
  readonly subscribers: LoadSubscriber[];
  readonly retired = noneRetired();

  constructor(options: {
    certificate: DtlsCertificate;
    sampleEvery: number;
    publishers: LoadPublisher[];
    subscribers: LoadSubscriber[];
  }) {
    this.#certificate = options.certificate;
    this.#sampleEvery = options.sampleEvery;
    this.publishers = options.publishers;
    this.subscribers = options.subscribers;
  }

  /** Connects, publishes (if asked), subscribes to every target; a failure leaves nothing behind. */
  async join(p: LoadParticipant): Promise<void> {
    const signal = await WaterbusSignal.connect(p.identity!);
    const live: Live = { signal, publisher: undefined, subscriptions: new Map() };
    this.#live.set(p.id, live);
    try {
      if (p.publish) {
        live.publisher = new LoadPublisher({
          certificate: this.#certificate,
          video: p.publish.video,
          audio: p.publish.audio,
        });
        this.publishers.push(live.publisher);
        await live.publisher.start(signal);
      }
      for (const target of p.subscribeTo) await this.#subscribe(live, target);
    } catch (err) {
      this.leave(p.id);
      throw err;
    }
  }

  /** Stops receiving `from` and receives `to` instead (its publisher was replaced). */
  async retarget(id: string, from: string, to: string): Promise<void> {
    const live = this.#live.get(id);
    if (!live) throw new Error(`retarget: participant ${id} is not here`);
    const old = live.subscriptions.get(from);
    if (old) this.#closeSubscriber(live, from, old);
    await this.#subscribe(live, to);
  }

  /** Closes the participant's peers and its signalling (`room.leave` first). */
  leave(id: string): void {
    const live = this.#live.get(id);
    if (!live) return;
    this.#live.delete(id);
    for (const [target, sub] of live.subscriptions) this.#closeSubscriber(live, target, sub);
    if (live.publisher) this.#closePublisher(live.publisher);
    live.signal.close();
  }

  closeAll(): void {
    for (const id of [...this.#live.keys()]) this.leave(id);
  }

  get size(): number {
    return this.#live.size;
  }

  async #subscribe(live: Live, target: string): Promise<void> {
    const sub = new LoadSubscriber({ certificate: this.#certificate, sampleEvery: this.#sampleEvery });
    live.subscriptions.set(target, sub);
    this.subscribers.push(sub);
    await sub.subscribe(live.signal, target);
  }

  #closeSubscriber(live: Live, target: string, sub: LoadSubscriber): void {
    live.subscriptions.delete(target);
    remove(this.subscribers, sub);
    const c = sub.counters();
    this.retired.packetsReceived += c.packets;
    this.retired.bytesReceived += c.bytes;
    this.retired.lost += c.lost;
    this.retired.expected += c.expected;
    this.retired.sampled += c.sampled;
    this.retired.authFailures += c.authFailures;
    sub.close();
  }

  #closePublisher(pub: LoadPublisher): void {
    remove(this.publishers, pub);
    this.retired.packetsSent += pub.packetsSent;
    this.retired.bytesSent += pub.bytesSent;
    this.retired.keyframeRequests += pub.keyframeRequests;
    pub.close();
  }
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
