import { create } from '@bufbuild/protobuf';
import * as pb from '../protocol/generated/sfu/v1/sfu_pb.js';
import type { MediaState, MediaStateRequest } from '../protocol/sfu-api.ts';
import { cameraType, invalid, participantRef, trackId } from './proto-fields.ts';

// Conversions of a participant's media state: the whole state sent with a join, and the partial
// update of SetMediaState (only the fields that change; the screen track set, cleared or left alone).

export function mediaStateToProto(s: MediaState): pb.MediaState {
  return create(pb.MediaStateSchema, {
    videoEnabled: s.videoEnabled,
    audioEnabled: s.audioEnabled,
    e2eeEnabled: s.e2eeEnabled,
    cameraType: s.cameraType,
    screenSharing: s.screenSharing,
    ...(s.screenTrackId === null ? {} : { screenTrackId: s.screenTrackId }),
    handRaising: s.handRaising,
  });
}

export function mediaStateFromProto(m: pb.MediaState | undefined): MediaState {
  if (!m) throw invalid('media_state is required');
  return {
    videoEnabled: m.videoEnabled,
    audioEnabled: m.audioEnabled,
    e2eeEnabled: m.e2eeEnabled,
    cameraType: cameraType(m.cameraType, 'media_state.camera_type'),
    screenSharing: m.screenSharing,
    screenTrackId:
      m.screenTrackId === undefined ? null : trackId(m.screenTrackId, 'media_state.screen_track_id'),
    handRaising: m.handRaising,
  };
}

export function mediaStateRequestToProto(r: MediaStateRequest): pb.SetMediaStateRequest {
  const s = r.state;
  const state = create(pb.MediaStateUpdateSchema, {
    videoEnabled: s.videoEnabled,
    audioEnabled: s.audioEnabled,
    e2eeEnabled: s.e2eeEnabled,
    cameraType: s.cameraType,
    screenSharing: s.screenSharing,
    handRaising: s.handRaising,
  });
  if (s.screenTrackId === null) state.screenTrack = { case: 'screenTrackCleared', value: true };
  else if (s.screenTrackId !== undefined)
    state.screenTrack = { case: 'screenTrackId', value: s.screenTrackId };
  return create(pb.SetMediaStateRequestSchema, {
    roomId: r.roomId,
    participantId: r.participantId,
    state,
    enforce: r.enforce === true,
  });
}

/** The flags a SetMediaState update carries as they are: present means changed. */
const PLAIN_FLAGS = ['videoEnabled', 'audioEnabled', 'e2eeEnabled', 'screenSharing', 'handRaising'] as const;

export function mediaStateRequestFromProto(m: pb.SetMediaStateRequest): MediaStateRequest {
  const s = m.state;
  if (!s) throw invalid('state is required');
  const state: Partial<MediaState> = {};
  for (const flag of PLAIN_FLAGS) if (s[flag] !== undefined) state[flag] = s[flag];
  if (s.cameraType !== undefined) state.cameraType = cameraType(s.cameraType, 'state.camera_type');
  if (s.screenTrack.case === 'screenTrackId')
    state.screenTrackId = trackId(s.screenTrack.value, 'state.screen_track_id');
  else if (s.screenTrack.case === 'screenTrackCleared') {
    if (!s.screenTrack.value) throw invalid('state.screen_track_cleared must be true when set');
    state.screenTrackId = null;
  }
  return m.enforce ? { ...participantRef(m), state, enforce: true } : { ...participantRef(m), state };
}
