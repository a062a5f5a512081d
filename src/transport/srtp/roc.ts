/**
 * The rollover counter of one SSRC (RFC 3711 §3.3.1, Appendix A): receivers estimate it from the
 * sequence number; senders advance it when their sequence number wraps.
 */
export class RocTracker {
  #roc = 0;
  #highestSeq = -1;

  /** RFC 3711 Appendix A: the ROC this sequence number most likely belongs to. */
  estimate(seq: number): number {
    const s = this.#highestSeq;
    if (s < 0) return this.#roc;
    if (s < 0x8000) return seq - s > 0x8000 ? Math.max(this.#roc - 1, 0) : this.#roc;
    return s - 0x8000 > seq ? this.#roc + 1 : this.#roc;
  }

  /** After a packet authenticated: remember the newest position. */
  update(roc: number, seq: number): void {
    if (this.#highestSeq < 0 || roc > this.#roc || (roc === this.#roc && seq > this.#highestSeq)) {
      this.#roc = roc;
      this.#highestSeq = seq;
    }
  }

  /** For a sender: the ROC of `seq`, advancing on wrap-around. */
  forSend(seq: number): number {
    const roc = this.estimate(seq);
    this.update(roc, seq);
    return roc;
  }
}

/** A 128-packet replay window over the packet index (RFC 3711 §3.3.2). */
export class ReplayWindow {
  static readonly SIZE = 128;
  #highest = -1;
  #seen = new Uint8Array(ReplayWindow.SIZE);

  check(index: number): boolean {
    if (this.#highest < 0 || index > this.#highest) return true;
    if (this.#highest - index >= ReplayWindow.SIZE) return false;
    return this.#seen[index % ReplayWindow.SIZE] === 0;
  }

  accept(index: number): void {
    if (index > this.#highest) {
      // Slots between the old highest and the new one have not been seen.
      const gap = Math.min(index - this.#highest, ReplayWindow.SIZE);
      for (let i = 1; i <= gap; i++) this.#seen[(index - gap + i) % ReplayWindow.SIZE] = 0;
      this.#highest = index;
    }
    this.#seen[index % ReplayWindow.SIZE] = 1;
  }
}
