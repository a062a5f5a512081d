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
    // A lite agent takes the first valid pair, and moves to the pair the controlling agent nominates.
    const nominated = msg.useCandidate || this.#selected === undefined;
    if (nominated) this.#selected = from;
    const response = buildBindingSuccess(
      msg.transactionId,
      from.address,
      from.port,
      from.family,
      this.localPwd,
    );
    return { kind: 'response', response, nominated };
  }

  consentExpired(nowMs: number): boolean {
    return this.#lastCheckMs > 0 && nowMs - this.#lastCheckMs > CONSENT_TIMEOUT_MS;
  }
}

const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Random ICE credential text (RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/"). */
export function iceString(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ICE_CHARS[b & 63];
  return out;
}
