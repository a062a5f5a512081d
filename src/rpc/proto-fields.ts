import { SfuError } from '../lib/errors.ts';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import type { ParticipantRef } from '../protocol/sfu-api.ts';

// Field checks and small mappings shared by the conversions of sfu.proto messages (convert-*.ts).

/** Room and participant ids: database ids or other short tokens, never free text. */
const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;
export const MAX_SDP_BYTES = 256 * 1024;

export function invalid(message: string): SfuError {
  return new SfuError('invalid_argument', message);
}

export function id(value: string, field: string): string {
  if (!value) throw invalid(`${field} is required`);
  if (!ID_PATTERN.test(value)) throw invalid(`${field} is not a valid id (1-128 of A-Z a-z 0-9 _ . : @ -)`);
  return value;
}

export function participantId(value: string, field = 'participant_id'): ParticipantId {
  return ParticipantId(id(value, field));
}

export function targetId(value: string): ParticipantId {
  return participantId(value, 'target_id');
}

export function participantRef(m: { roomId: string; participantId: string }): ParticipantRef {
  return { roomId: RoomId(id(m.roomId, 'room_id')), participantId: participantId(m.participantId) };
}

export function sdp(value: string, field: string): string {
  if (!value) throw invalid(`${field} is required`);
  if (value.length > MAX_SDP_BYTES) throw invalid(`${field} is longer than ${MAX_SDP_BYTES} characters`);
  return value;
}

export function trackId(value: string, field: string): string {
  if (!value || value.length > 256) throw invalid(`${field} must be 1-256 characters`);
  return value;
}

export function cameraType(value: number, field: string): number {
  if (value > 255) throw invalid(`${field} must be 0-255`);
  return value;
}

/** The reverse of an enum table, to read a received enum value back into its domain name. */
export function reverse<K extends string>(map: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(map).map(([k, v]) => [v as number, k as K]));
}

/** A gauge or counter as a proto uint64: rounded, never negative. */
export function uint64(n: number): bigint {
  return BigInt(Math.max(0, Math.round(n)));
}

/** The named counters as the proto's uint64 fields. */
export function toUint64s<K extends string>(o: Record<K, number>, keys: readonly K[]): Record<K, bigint> {
  return Object.fromEntries(keys.map((k) => [k, BigInt(o[k])])) as Record<K, bigint>;
}

/** The named uint64 counters back into numbers (well below 2^53 for any counter a node keeps). */
export function fromUint64s<K extends string>(m: Record<K, bigint>, keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, Number(m[k])])) as Record<K, number>;
}

export function roomIdFromProto(m: { roomId: string }): RoomId {
  return RoomId(id(m.roomId, 'room_id'));
}
