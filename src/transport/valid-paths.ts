import type { RemoteAddress } from './ice/ice-lite-agent.ts';

/** At most this many UDP addresses besides the selected one are routed to a transport. */
export const MAX_EXTRA_PATHS = 4;

/** The part of the endpoint this needs (DatagramSender.routeFrom). */
interface Router<T> {
  routeFrom(transport: T, address: RemoteAddress, previous: RemoteAddress | undefined): void;
}

/**
 * The UDP addresses of one transport's peer that passed an ICE check but are not the selected
 * path, routed to the transport too (RFC 8445 §12.1: an agent receives on every valid pair, not
 * only the nominated one). A browser with several candidates (IPv4 and IPv6 host candidates)
 * moves its own selected pair to its preferred one once it is writable, and sends its next DTLS
 * flight there before it nominates it (USE-CANDIDATE): the endpoint, which routed only the
 * selected address, dropped that flight and the browser waited for its retransmission timer.
 * Replies still go to the selected address; the browser takes them on any of its pairs.
 *
 * Lifecycle: one per WebRtcTransport; `clear()` before the endpoint forgets the transport.
 */
export class ValidPaths<T> {
  readonly #router: Router<T>;
  readonly #transport: T;
  readonly #extra: RemoteAddress[] = [];

  constructor(router: Router<T>, transport: T) {
    this.#router = router;
    this.#transport = transport;
  }

  /** A check from `from` was answered; `selected` is the selected path after it. */
  checked(from: RemoteAddress, selected: RemoteAddress): void {
    if (from.stream || same(from, selected)) return;
    if (this.#extra.some((p) => same(p, from)) || this.#extra.length >= MAX_EXTRA_PATHS) return;
    this.#extra.push(from);
    this.#router.routeFrom(this.#transport, from, undefined);
  }

  /**
   * The selected path moved from `previous` to `selected` (the endpoint routed the new one and
   * unrouted the old one): the new one is no longer extra, the old one (a valid UDP path) is.
   */
  selectionMoved(previous: RemoteAddress | undefined, selected: RemoteAddress): void {
    const i = this.#extra.findIndex((p) => same(p, selected));
    if (i >= 0) this.#extra.splice(i, 1);
    if (previous) this.checked(previous, selected);
  }

  /**
   * Unroutes every extra address: routeFrom(selected, extra) drops the extra one and routes the
   * selected one again, which it is already (an ICE-TCP binding too).
   */
  clear(selected: RemoteAddress | undefined): void {
    const extra = this.#extra.splice(0);
    if (selected) for (const path of extra) this.#router.routeFrom(this.#transport, selected, path);
  }

  get size(): number {
    return this.#extra.length;
  }
}

function same(a: RemoteAddress, b: RemoteAddress): boolean {
  return a.address === b.address && a.port === b.port && a.stream === b.stream;
}
