import { z } from 'zod';
import { ParticipantId, RoomId } from '../lib/ids.ts';

/**
 * Schemas of every client → server socket event (Waterbus names and keys). Ids arrive as decimal
 * strings (numbers are accepted too); extra keys sent by newer SDKs are ignored.
 */

const MAX_SDP_CHARS = 100_000;
const decimalId = z.union([
  z.string().regex(/^[1-9]\d{0,17}$/, 'expected a decimal id'),
  z.number().int().positive(),
]);
const roomId = decimalId.transform((v) => RoomId(v));
const participantId = decimalId.transform((v) => ParticipantId(v));
const sdp = z.string().min(1).max(MAX_SDP_CHARS);
/** 0 = P2P (the server relays SDP between two peers), 1 = SFU. */
const connectionType = z.union([z.literal(0), z.literal(1)]);

export const iceCandidateSchema = z.object({
  candidate: z.string().max(1024),
  sdpMid: z
    .string()
    .max(64)
    .nullish()
    .transform((v) => v ?? null),
  sdpMLineIndex: z
    .number()
    .int()
    .min(0)
    .max(255)
    .nullish()
    .transform((v) => v ?? null),
});

/** An SDP media id (RFC 8843 §15.2: a token); browsers use short numbers. */
const sdpMid = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+\-.^_`{|}~]{1,32}$/, 'an SDP mid (1-32 token characters)');

export const publishSchema = z.object({
  sdp,
  roomId,
  participantId,
  isVideoEnabled: z.boolean(),
  isAudioEnabled: z.boolean(),
  isE2eeEnabled: z.boolean().default(false),
  totalTracks: z.number().int().min(0).max(16).default(0),
  connectionType,
  /** Newer SDKs: 0 none, 1 stream this publisher as HLS, 2 as MoQ (when the server has egress). */
  streamingProtocol: z.number().int().min(0).max(255).optional(),
  /**
   * BBMEET SDK: video sections of the offer that are backup codecs of another, by mid (its VP8
   * copy of a camera sent in H264 or VP9, docs/sdk.md). Waterbus clients send none.
   */
  backupSections: z
    .array(z.object({ mid: sdpMid, primaryMid: sdpMid }))
    .max(16)
    .optional(),
});

export const subscribeSchema = z.object({ targetId: participantId, roomId, participantId });

export const hlsLiveStreamSchema = z.object({ targetId: participantId, roomId, participantId });

export const answerSubscriberSchema = z.object({ roomId, targetId: participantId, sdp, connectionType });

export const publisherRenegotiationSchema = z.object({ sdp, roomId, connectionType });

export const migrateSchema = z.object({ sdp, roomId, participantId, connectionType });

export const publisherCandidateSchema = z.object({ candidate: iceCandidateSchema, connectionType, roomId });

export const subscriberCandidateSchema = z.object({
  targetId: participantId,
  candidate: iceCandidateSchema,
  connectionType,
  roomId,
});

export const enabledSchema = z.object({ isEnabled: z.boolean() });
export const cameraTypeSchema = z.object({ type: z.number().int().min(0).max(255) });
export const screenSharingSchema = z
  .object({
    isSharing: z.boolean(),
    screenTrackId: z.string().max(256).nullish(),
    // The newest Flutter SDK sends the transceiver mid under this name instead.
    screenMid: z.string().max(256).nullish(),
  })
  .transform((v) => ({ isSharing: v.isSharing, screenTrackId: v.screenTrackId ?? v.screenMid ?? null }));
export const handRaisingSchema = z.object({ isRaising: z.boolean() });
export const leaveSchema = z.object({ roomId: roomId.optional() }).default({});
export const reconnectSchema = z
  .object({ roomId: roomId.optional(), participantId: participantId.optional() })
  .nullish()
  .transform((v) => v ?? {});
