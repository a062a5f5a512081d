// Where received SRTP packets are decrypted to: one buffer for the thread and, for each length a
// packet had, one view of exactly that length, made the first time and reused after. A view per
// packet (subarray) is a new object of about 100 bytes; this way a received packet costs none.
import type { SrtpFailure, SrtpSession } from './srtp/srtp-session.ts';

/** The largest packet decrypted here (a full Ethernet MTU); a longer one is decrypted in place. */
const SCRATCH_BYTES = 1500;

/**
 * One decryption buffer and its exact-length views. Lifecycle: one per thread (RECEIVE_VIEWS);
 * a view is valid until the next packet is decrypted into the buffer, so a receiver reads it
 * during its callback (deliver) and copies what it keeps.
 */
export class ReceiveViews {
  readonly scratch: Buffer;
  readonly #views: Array<Buffer | undefined>;
  /** Receivers' callbacks running (deliver): a packet received meanwhile must not overwrite theirs. */
  #delivering = 0;

  constructor(bytes = SCRATCH_BYTES) {
    this.scratch = Buffer.alloc(bytes);
    this.#views = new Array<Buffer | undefined>(bytes + 1).fill(undefined);
  }

  /**
   * Authenticates and decrypts an SRTP packet (SrtpSession.unprotectRtp): into the scratch, the
   * RTP packet returned as its view; in place (a new view) while a receiver's callback runs or
   * when it is longer than the scratch.
   */
  unprotectRtp(session: SrtpSession, datagram: Buffer): Buffer | SrtpFailure {
    if (this.#delivering > 0 || datagram.length > this.scratch.length) {
      const length = session.unprotectRtp(datagram);
      return typeof length === 'string' ? length : datagram.subarray(0, length);
    }
    const length = session.unprotectRtp(datagram, this.scratch);
    return typeof length === 'string' ? length : this.view(length);
  }

  /** Hands `packet` (from unprotectRtp) to `receiver`; the scratch is not reused meanwhile. */
  deliver(receiver: ((packet: Buffer) => void) | null, packet: Buffer): void {
    if (!receiver) return;
    this.#delivering++;
    try {
      receiver(packet);
    } finally {
      this.#delivering--;
    }
  }

  /** scratch[0..length), the same object for every packet of that length. */
  view(length: number): Buffer {
    let view = this.#views[length];
    if (view === undefined) {
      view = this.scratch.subarray(0, length);
      this.#views[length] = view;
    }
    return view;
  }
}

/** The thread's: transports hand their packets on synchronously, one at a time. */
export const RECEIVE_VIEWS = new ReceiveViews();
