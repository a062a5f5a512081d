import { EventEmitter } from 'node:events';
import msgpackParser from 'socket.io-msgpack-parser';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import {
  DEFAULT_MSGPACK_LIMITS,
  decodeBoundedMsgpack,
  MsgpackBoundsError,
  type MsgpackLimits,
  type MsgpackRejectReason,
} from './msgpack-bounds.ts';

/**
 * socket.io parser with the wire format of socket.io-msgpack-parser 3.0.2 (Waterbus clients): the
 * same encoder, and a decoder that trusts no declared length (see msgpack-bounds.ts). A rejected
 * frame throws from `Decoder.add`, which makes socket.io close that client's connection.
 */

/** socket.io packet types (https://github.com/socketio/socket.io-protocol). */
const CONNECT = 0;
const DISCONNECT = 1;
const CONNECT_ERROR = 4;

export interface SocketIoPacket {
  type: number;
  nsp: string;
  data?: unknown;
  id?: number;
}

export interface SafeMsgpackParserOptions {
  /** Called once per rejected frame, before the error reaches socket.io. */
  onRejected?: (reason: MsgpackRejectReason, frameBytes: number) => void;
  limits?: MsgpackLimits;
}

/** The `parser` option of socket.io's `Server`: `{ Encoder, Decoder }`, one Decoder per client. */
export function createSafeMsgpackParser(options: SafeMsgpackParserOptions = {}) {
  const limits = options.limits ?? DEFAULT_MSGPACK_LIMITS;
  class Decoder extends EventEmitter {
    add(frame: unknown): void {
      let packet: SocketIoPacket;
      try {
        packet = decodeSocketIoPacket(frame, limits);
      } catch (err) {
        const reason = err instanceof MsgpackBoundsError ? err.reason : 'invalid_packet';
        options.onRejected?.(reason, frameSize(frame));
        throw err;
      }
      this.emit('decoded', packet);
    }

    destroy(): void {
      this.removeAllListeners();
    }
  }
  return { protocol: msgpackParser.protocol, Encoder: msgpackParser.Encoder, Decoder };
}

/** One frame to a socket.io packet, with the checks of socket.io-msgpack-parser's `checkPacket`. */
export function decodeSocketIoPacket(
  frame: unknown,
  limits: MsgpackLimits = DEFAULT_MSGPACK_LIMITS,
): SocketIoPacket {
  const packet = decodeBoundedMsgpack(binaryOf(frame), limits);
  if (typeof packet !== 'object' || packet === null || Array.isArray(packet)) throw invalid('not a packet');
  const { type, nsp, data, id } = packet as Record<string, unknown>;
  if (!Number.isInteger(type) || (type as number) < CONNECT || (type as number) > CONNECT_ERROR) {
    throw invalid('invalid packet type');
  }
  if (typeof nsp !== 'string') throw invalid('invalid namespace');
  if (!isDataValid(type as number, data)) throw invalid('invalid payload');
  if (id !== undefined && !Number.isInteger(id)) throw invalid('invalid packet id');
  return packet as SocketIoPacket;
}

function isDataValid(type: number, data: unknown): boolean {
  switch (type) {
    case CONNECT:
      return data === undefined || isPlainObject(data);
    case DISCONNECT:
      return data === undefined;
    case CONNECT_ERROR:
      return typeof data === 'string' || isPlainObject(data);
    default:
      return Array.isArray(data);
  }
}

function isPlainObject(value: unknown): boolean {
  return Object.prototype.toString.call(value) === '[object Object]';
}

function binaryOf(frame: unknown): Uint8Array {
  if (frame instanceof Uint8Array) return frame;
  if (frame instanceof ArrayBuffer) return new Uint8Array(frame);
  // Text frames: socket.io-msgpack-parser packets are always binary.
  throw new MsgpackBoundsError('not_binary', 'expected a binary frame');
}

function frameSize(frame: unknown): number {
  if (frame instanceof Uint8Array || frame instanceof ArrayBuffer) return frame.byteLength;
  return typeof frame === 'string' ? frame.length : 0;
}

function invalid(message: string): MsgpackBoundsError {
  return new MsgpackBoundsError('invalid_packet', message);
}

const REJECT_LOG_INTERVAL_MS = 1000;

/**
 * `onRejected` for the server: counts every rejected frame in
 * `bbmeet_socket_frames_rejected_total{reason}` and logs a warning at most once per
 * `intervalMs` (a flood of bad frames must not become a flood of log lines), with the number of
 * rejections it did not log.
 */
export function frameRejectionReporter(
  metrics: Pick<Metrics, 'socketFramesRejected'>,
  log: Logger,
  options: { intervalMs?: number; now?: () => number } = {},
): (reason: MsgpackRejectReason, frameBytes: number) => void {
  const intervalMs = options.intervalMs ?? REJECT_LOG_INTERVAL_MS;
  const now = options.now ?? (() => performance.now());
  let lastLogAt = Number.NEGATIVE_INFINITY;
  let unlogged = 0;
  return (reason, frameBytes) => {
    metrics.socketFramesRejected.inc({ reason });
    const at = now();
    if (at - lastLogAt < intervalMs) {
      unlogged++;
      return;
    }
    log.warn({ reason, frameBytes, unloggedSinceLast: unlogged }, 'socket frame rejected');
    lastLogAt = at;
    unlogged = 0;
  };
}
