import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import type { EgressInfo } from '../protocol/egress.ts';
import * as pb from '../protocol/generated/sfu/v1/sfu_pb.js';
import { eventFromProto, eventToProto } from './convert.ts';
import {
  egressInfoFromProto,
  egressInfoToProto,
  egressRequestFromProto,
  egressRequestToProto,
  egressStopFromProto,
  egressStopToProto,
} from './convert-egress.ts';

const INFO: EgressInfo = {
  egressId: 'EG_1',
  roomId: RoomId('7'),
  kind: 'recording',
  participantId: ParticipantId('41'),
  state: 'ended',
  startedAt: 1_700_000_000_000,
  endedAt: 1_700_000_020_000,
  reason: 'stopped',
  playlist: null,
  files: ['7/41/recording.mp4'],
  moqPath: null,
  nodeId: 'node-a',
  baseUrl: 'http://10.0.0.2:8080/egress/',
};

/** Through the wire bytes, as gRPC carries it. */
function wire<T extends pb.EgressInfo | pb.StartEgressRequest>(
  schema: typeof pb.EgressInfoSchema | typeof pb.StartEgressRequestSchema,
  m: T,
): T {
  return fromBinary(schema, toBinary(schema, m as never)) as T;
}

describe('egress conversions (sfu.proto)', () => {
  it('EgressInfo survives a round trip, nulls included', () => {
    assert.deepEqual(egressInfoFromProto(wire(pb.EgressInfoSchema, egressInfoToProto(INFO))), INFO);
    const running: EgressInfo = {
      ...INFO,
      participantId: null,
      state: 'active',
      endedAt: null,
      reason: null,
      files: [],
      baseUrl: null,
      playlist: 'room/7/master.m3u8',
    };
    assert.deepEqual(egressInfoFromProto(wire(pb.EgressInfoSchema, egressInfoToProto(running))), running);
  });

  it('start and stop requests survive a round trip; absent layer and stage stay absent', () => {
    const full = {
      roomId: RoomId('7'),
      kind: 'hls' as const,
      participantId: null,
      stageId: ParticipantId('3'),
      layer: -1,
      requestedBy: 'admin',
    };
    assert.deepEqual(
      egressRequestFromProto(wire(pb.StartEgressRequestSchema, egressRequestToProto(full))),
      full,
    );
    const bare = {
      roomId: RoomId('7'),
      kind: 'moq' as const,
      participantId: ParticipantId('4'),
      requestedBy: '4',
    };
    assert.deepEqual(egressRequestFromProto(egressRequestToProto(bare)), bare);
    const stop = { roomId: RoomId('7'), egressId: 'EG_9' };
    assert.deepEqual(egressStopFromProto(egressStopToProto(stop)), stop);
  });

  it('egressUpdated travels in the events stream', () => {
    const event = { type: 'egressUpdated' as const, egress: INFO };
    assert.deepEqual(eventFromProto(eventToProto(event)), event);
  });

  it('bad input is refused with invalid_argument naming the field', () => {
    const refuses = (f: () => unknown, field: string) =>
      assert.throws(
        f,
        (err: { code?: string; message?: string }) =>
          err.code === 'invalid_argument' && (err.message ?? '').includes(field),
      );
    refuses(
      () =>
        egressRequestFromProto(create(pb.StartEgressRequestSchema, { roomId: '7', requestedBy: 'admin' })),
      'kind',
    );
    refuses(
      () =>
        egressRequestFromProto(
          create(pb.StartEgressRequestSchema, {
            roomId: '7',
            kind: pb.EgressKind.HLS,
            layer: 99,
            requestedBy: 'a',
          }),
        ),
      'layer',
    );
    refuses(
      () =>
        egressRequestFromProto(
          create(pb.StartEgressRequestSchema, { roomId: 'a b', kind: pb.EgressKind.HLS, requestedBy: 'a' }),
        ),
      'room_id',
    );
    refuses(() => egressStopFromProto(create(pb.StopEgressRequestSchema, { roomId: '7' })), 'egress_id');
    refuses(
      () =>
        egressInfoFromProto(
          create(pb.EgressInfoSchema, { ...egressInfoToProto(INFO), state: pb.EgressState.UNSPECIFIED }),
        ),
      'state',
    );
    refuses(
      () =>
        egressInfoFromProto(
          create(pb.EgressInfoSchema, { ...egressInfoToProto(INFO), reason: 'x'.repeat(5000) }),
        ),
      'reason',
    );
    refuses(
      () => eventFromProto(create(pb.EventsResponseSchema, { event: { case: 'egressUpdated', value: {} } })),
      'egress',
    );
  });
});
