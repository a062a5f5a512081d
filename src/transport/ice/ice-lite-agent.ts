import { randomBytes } from 'node:crypto';
import {
  buildBindingError,
  buildBindingSuccess,
  type StunMessage,
  StunType,
  verifyFingerprint,
  verifyIntegrity,
} from './stun.ts';

/** RFC 7675 §5.1: consent expires 30 s after the last successful check. */
export const CONSENT_TIMEOUT_MS = 30_000;

/**
 * A selected path without a check for this long has gone quiet: a nomination of a lower-ranked
 * path then replaces it (browsers check the selected pair for consent every 4-6 s, RFC 7675 §5.1).
 */
export const SELECTED_QUIET_MS = 7_000;

export interface RemoteAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
  /** Set for an ICE-TCP path (RFC 6544): packets to this address are written, framed, to it. */
  stream?: PacketStream;
}

/** A connection-oriented path to the peer (an accepted ICE-TCP connection). */
export interface PacketStream {
  /** Sends packet[0..length); drops it (counted) when the connection cannot take it. */
  write(packet: Buffer, length?: number): void;
}

export type CheckOutcome =
  | { kind: 'response'; response: Buffer; nominated: boolean }
  | { kind: 'error'; response: Buffer; reason: string }
  | { kind: 'ignored'; reason: string };

/**
 * The ICE-lite side of one transport (RFC 8445 §2.5, §7.3): it never sends checks, only answers
 * the browser's, and uses the address the browser nominates (USE-CANDIDATE). Every valid check
 * refreshes consent (RFC 7675); `consentExpired()` tells when the peer stopped answering.
 */
export class IceLiteAgent {
  localUfrag = iceString(6);
  localPwd = iceString(24);
  #remoteUfrag: string | undefined;
  #selected: RemoteAddress | undefined;
  /** Rank of the selected path when it was nominated; undefined while none was (first valid check). */
  #selectedRank: number | undefined;
  #lastSelectedCheckMs = 0;
  #lastCheckMs = 0;

  get selected(): RemoteAddress | undefined {
    return this.#selected;
  }

  get lastCheckMs(): number {
    return this.#lastCheckMs;
  }

  setRemoteCredentials(ufrag: string): void {
    this.#remoteUfrag = ufrag;
  }

  /** ICE restart (RFC 8445 §9): new local credentials; the selected pair stays until a new one is nominated. */
  restart(): void {
    this.localUfrag = iceString(6);
    this.localPwd = iceString(24);
    // The restarted session nominates afresh: its first nomination is taken whatever its rank.
    this.#selectedRank = undefined;
  }

  /** Validates a Binding request received from `from` and builds the answer to send back. */
  handleCheck(msg: StunMessage, from: RemoteAddress, nowMs: number): CheckOutcome {
    if (msg.type !== StunType.BindingRequest) return { kind: 'ignored', reason: 'not a binding request' };
    if (!verifyFingerprint(msg)) return { kind: 'ignored', reason: 'bad fingerprint' };
    const [local, remote] = (msg.username ?? '').split(':');
    // The remote fragment is checked once known; checks may arrive before the answer is applied.
    if (local !== this.localUfrag || (this.#remoteUfrag !== undefined && remote !== this.#remoteUfrag)) {
      return {
        kind: 'error',
        response: buildBindingError(msg.transactionId, 401, 'Unauthorized'),
        reason: 'unknown username',
      };
    }
    if (!verifyIntegrity(msg, this.localPwd)) {
      return {
        kind: 'error',
        response: buildBindingError(msg.transactionId, 401, 'Unauthorized'),
        reason: 'bad integrity',
      };
    }
    this.#lastCheckMs = nowMs;
    if (this.#selected !== undefined && sameAddress(this.#selected, from)) this.#lastSelectedCheckMs = nowMs;
    const nominated = this.#select(msg, from, nowMs);
    const response = buildBindingSuccess(
      msg.transactionId,
      from.address,
      from.port,
      from.family,
      this.localPwd,
    );
    return { kind: 'response', response, nominated };
  }

  /**
   * A lite agent takes the first valid pair, and moves to a pair the controlling agent nominates.
   * When it nominates several (Firefox nominates its UDP pair and then an ICE-TCP one), the best
   * ranked one is kept (RFC 8445 §8.1.1: the highest-priority nominated pair), as the peer sends
   * on it: a later, lower-ranked nomination is taken only once the selected path went quiet.
   */
  #select(msg: StunMessage, from: RemoteAddress, nowMs: number): boolean {
    if (this.#selected === undefined) {
      this.#selected = from;
      this.#lastSelectedCheckMs = nowMs;
      if (msg.useCandidate) this.#selectedRank = pathRank(msg, from);
      return true;
    }
    if (!msg.useCandidate) return false;
    const rank = pathRank(msg, from);
    const quiet = nowMs - this.#lastSelectedCheckMs > SELECTED_QUIET_MS;
    if (this.#selectedRank !== undefined && rank < this.#selectedRank && !quiet) return false;
    this.#selected = from;
    this.#selectedRank = rank;
    this.#lastSelectedCheckMs = nowMs;
    return true;
  }

  consentExpired(nowMs: number): boolean {
    return this.#lastCheckMs > 0 && nowMs - this.#lastCheckMs > CONSENT_TIMEOUT_MS;
  }
}

/**
 * How good a nominated path is: UDP above ICE-TCP (our UDP candidates have the higher priority),
 * then the peer's candidate priority from the check's PRIORITY attribute (RFC 8445 §7.1.1).
 */
function pathRank(msg: StunMessage, from: RemoteAddress): number {
  return (from.stream ? 0 : 2 ** 32) + (msg.priority ?? 0);
}

function sameAddress(a: RemoteAddress, b: RemoteAddress): boolean {
  return a.address === b.address && a.port === b.port && a.stream === b.stream;
}

const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Random ICE credential text (RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/"). */
export function iceString(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ICE_CHARS[b & 63];
  return out;
}
