// Branded identifiers: a RoomId cannot be passed where a ParticipantId is expected.
declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Database id of a room (decimal string on the socket, integer in REST). */
export type RoomId = Brand<string, 'RoomId'>;
/** Database id of a participants row: one user's presence in one room. */
export type ParticipantId = Brand<string, 'ParticipantId'>;
export type UserId = Brand<number, 'UserId'>;
export type TrackId = Brand<string, 'TrackId'>;
export type NodeId = Brand<string, 'NodeId'>;

export const RoomId = (v: string | number): RoomId => String(v) as RoomId;
export const ParticipantId = (v: string | number): ParticipantId => String(v) as ParticipantId;
export const UserId = (v: number): UserId => v as UserId;
export const TrackId = (v: string): TrackId => v as TrackId;
export const NodeId = (v: string): NodeId => v as NodeId;
