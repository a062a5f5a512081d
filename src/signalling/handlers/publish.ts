import { SfuError } from '../../lib/errors.ts';
import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import { type EgressKind, egressKindOfStreamingProtocol } from '../../protocol/egress.ts';
import type { MediaState } from '../../protocol/sfu-api.ts';
import { ParticipantStatus } from '../../store/types.ts';
import { isHidden, requireGrantedRoom, requirePublishGrant, sfuJoinGrants } from '../grants.ts';
import { migrateSchema, publishSchema } from '../messages.ts';
import { ConnectionType, defaultMediaState } from '../participant-directory.ts';
import type { SignallingContext } from '../signalling-context.ts';
import { handler } from './handler.ts';

/**
 * `room.publish`: the participant starts sending. SFU mode: the SFU answers the offer and the
 * answer goes back as `room.publish`. P2P mode: the offer is kept for whoever subscribes and the
 * room is told at once (`room.new_participant`).
 */
export const publish = handler({
  event: 'room.publish',
  schema: publishSchema,
  async run(ctx, session, p) {
    requireGrantedRoom(session, p.roomId);
    requirePublishGrant(session, p.sdp);
    const row = await ctx.authoriseParticipant(session, p.participantId, p.roomId);
    const current = session.participant;
    if (current && current.participantId !== p.participantId) {
      throw new SfuError(
        'invalid_state',
        `this connection already publishes participant ${current.participantId}: leave first`,
      );
    }
    const mediaState: MediaState = {
      ...defaultMediaState(),
      videoEnabled: p.isVideoEnabled,
      audioEnabled: p.isAudioEnabled,
      e2eeEnabled: p.isE2eeEnabled,
    };
    const ref = { roomId: p.roomId, participantId: p.participantId };
    const hidden = isHidden(session, row);
    // Publishing again on the same connection replaces the previous publisher (renewed offer).
    const previous = ctx.directory.get(p.participantId);
    if (previous?.connectionType === ConnectionType.SFU) await ctx.sfu.leave(ref);
    let answer: string | null = null;
    if (p.connectionType === ConnectionType.SFU) {
      const res = await ctx.sfu.join({
        ...ref,
        sdp: p.sdp,
        totalTracks: p.totalTracks,
        mediaState,
        isMigrate: false,
        ...(p.backupSections?.length ? { backupSections: p.backupSections } : {}),
        ...sfuJoinGrants(session, { hidden }),
      });
      answer = res.sdp;
    }
    if (row.status !== ParticipantStatus.Active)
      await ctx.store.participants.setStatus(row.id, ParticipantStatus.Active);
    await ctx.attach(session, {
      ...ref,
      userId: session.userId,
      socketId: session.id,
      connectionType: p.connectionType,
      mediaState,
      p2pOffer: p.connectionType === ConnectionType.P2P ? p.sdp : null,
      hidden,
      ...streamOnReady(p.connectionType, p.streamingProtocol),
    });
    reportTracks(ctx, p.participantId, p.sdp, answer, previous?.connectionType === ConnectionType.SFU);
    if (answer !== null) {
      const isRecording = await roomIsRecorded(ctx, p.roomId);
      session.endpoint.emit('room.publish', { sdp: answer, isRecording });
      return { sdp: answer, isRecording };
    }
    await ctx.announce(p.participantId, ctx.nodeId, false);
    return {};
  },
});

/** Webhooks: the tracks of the new SFU publisher, or the previous one's gone (republished as P2P). */
function reportTracks(
  ctx: SignallingContext,
  participantId: ParticipantId,
  offer: string,
  answer: string | null,
  wasSfu: boolean,
): void {
  const entry = ctx.directory.get(participantId);
  if (!entry || !ctx.webhooks) return;
  if (answer !== null) ctx.webhooks.negotiated(entry, offer, answer);
  else if (wasSfu) ctx.webhooks.unpublished(entry);
}

/** `isRecording` of the `room.publish` reply: a recording of the room is starting or running. */
async function roomIsRecorded(ctx: SignallingContext, roomId: RoomId): Promise<boolean> {
  try {
    const egresses = await ctx.sfu.listEgress(roomId);
    return egresses.some((e) => e.kind === 'recording' && (e.state === 'starting' || e.state === 'active'));
  } catch {
    // No egress on this server (or its node is unreachable): nothing records the room here.
    return false;
  }
}

/**
 * Newer SDKs ask for their publisher to be streamed (`streamingProtocol` 1 HLS, 2 MoQ): the egress
 * starts once the SFU publisher's tracks arrived (SignallingContext on `publisherReady`).
 */
function streamOnReady(
  connectionType: number,
  streamingProtocol: number | undefined,
): { streamOnReady?: EgressKind } {
  const kind = egressKindOfStreamingProtocol(streamingProtocol);
  return kind && connectionType === ConnectionType.SFU ? { streamOnReady: kind } : {};
}

/**
 * `room.migrate`: switch the participant between P2P and SFU. To SFU: the SFU answers a new
 * publisher offer (`room.migrate` reply) and announces it with isMigrate once its tracks arrive.
 * To P2P: the SFU publisher is closed and the offer is kept for P2P subscribers.
 */
export const migrate = handler({
  event: 'room.migrate',
  schema: migrateSchema,
  async run(ctx, session, p) {
    const entry = ctx.requireEntry(session, p.roomId);
    requirePublishGrant(session, p.sdp);
    if (entry.participantId !== p.participantId) {
      throw new SfuError('permission_denied', 'a connection can only migrate its own participant');
    }
    const ref = { roomId: p.roomId, participantId: p.participantId };
    if (p.connectionType === ConnectionType.SFU) {
      const res = await ctx.sfu.join({
        ...ref,
        sdp: p.sdp,
        totalTracks: 0,
        mediaState: entry.mediaState,
        isMigrate: true,
        ...sfuJoinGrants(session, entry),
      });
      entry.connectionType = ConnectionType.SFU;
      entry.p2pOffer = null;
      ctx.webhooks?.negotiated(entry, p.sdp, res.sdp);
      session.endpoint.emit('room.migrate', { sdp: res.sdp });
      return { sdp: res.sdp };
    }
    if (entry.connectionType === ConnectionType.SFU) {
      await ctx.sfu.leave(ref);
      ctx.webhooks?.unpublished(entry);
    }
    entry.connectionType = ConnectionType.P2P;
    entry.p2pOffer = p.sdp;
    return {};
  },
});
