import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import { SfuError, type SfuErrorCode } from '../lib/errors.ts';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import * as pb from '../protocol/generated/sfu/v1/sfu_pb.js';
import { defaultMediaState, type SfuDump, type SfuEvent } from '../protocol/sfu-api.ts';
import * as convert from './convert.ts';
import { fromGrpcError, grpcStatusOf, sfuErrorCodeOf, toGrpcError } from './status.ts';

const room = RoomId('12');
const alice = ParticipantId('34');
const bob = ParticipantId('56');

/** Through the wire format and back, as the server and client see it. */
function wire<T extends pb.EventsResponse>(m: T): pb.EventsResponse {
  return fromBinary(pb.EventsResponseSchema, toBinary(pb.EventsResponseSchema, m));
}

function invalidArgument(fn: () => unknown, field: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SfuError);
    assert.equal(err.code, 'invalid_argument');
    assert.match(err.message, field);
    return true;
  });
}

describe('gRPC status mapping', () => {
  const codes: SfuErrorCode[] = [
    'not_found',
    'invalid_argument',
    'invalid_state',
    'permission_denied',
    'unauthenticated',
    'already_exists',
    'resource_exhausted',
    'unsupported',
    'unavailable',
    'internal',
  ];

  it('every SfuError code maps to a distinct gRPC status and back to itself', () => {
    const statuses = codes.map(grpcStatusOf);
    assert.equal(new Set(statuses).size, codes.length);
    for (const code of codes) assert.equal(sfuErrorCodeOf(grpcStatusOf(code)), code);
    assert.equal(grpcStatusOf('invalid_state'), status.FAILED_PRECONDITION);
    assert.equal(grpcStatusOf('unsupported'), status.UNIMPLEMENTED);
  });

  it('transport failures are unavailable; unknown statuses are internal', () => {
    assert.equal(sfuErrorCodeOf(status.DEADLINE_EXCEEDED), 'unavailable');
    assert.equal(sfuErrorCodeOf(status.CANCELLED), 'unavailable');
    assert.equal(sfuErrorCodeOf(status.UNKNOWN), 'internal');
    assert.equal(sfuErrorCodeOf(status.DATA_LOSS), 'internal');
  });

  it('server errors: SfuError keeps its code and message, anything else is INTERNAL', () => {
    assert.deepEqual(toGrpcError(new SfuError('not_found', 'no such participant')), {
      code: status.NOT_FOUND,
      details: 'no such participant',
    });
    assert.equal(toGrpcError(new RangeError('boom')).code, status.INTERNAL);
    assert.equal(toGrpcError('text').details, 'text');
  });

  it('client errors: a service error becomes an SfuError; a thrown non-gRPC error is unavailable', () => {
    const notFound = fromGrpcError(
      { code: status.NOT_FOUND, details: 'no subscription', message: 'x' },
      'call',
    );
    assert.equal(notFound.code, 'not_found');
    assert.equal(notFound.message, 'no subscription');
    const down = fromGrpcError(
      { code: status.UNAVAILABLE, details: 'No connection established' },
      'join on n1',
    );
    assert.equal(down.code, 'unavailable');
    assert.match(down.message, /join on n1: No connection established/);
    assert.equal(fromGrpcError(new Error('Channel has been shut down'), 'x').code, 'unavailable');
  });
});

describe('SfuApi ↔ sfu.proto conversions', () => {
  it('join round-trips, media state included (no screen track = absent field)', () => {
    const req = {
      roomId: room,
      participantId: alice,
      sdp: 'v=0\r\n',
      totalTracks: 2,
      mediaState: { ...defaultMediaState(), cameraType: 1, handRaising: true },
      isMigrate: true,
    };
    const m = fromBinary(pb.JoinRequestSchema, toBinary(pb.JoinRequestSchema, convert.joinToProto(req)));
    assert.equal(m.mediaState?.screenTrackId, undefined);
    assert.deepEqual(convert.joinFromProto(m), req);
    const shared = {
      ...req,
      mediaState: { ...req.mediaState, screenSharing: true, screenTrackId: 'screen-1' },
    };
    assert.deepEqual(convert.joinFromProto(convert.joinToProto(shared)), shared);
  });

  it('join carries backup codec sections over gRPC, and refuses a mid that is no SDP token', () => {
    const req = {
      roomId: room,
      participantId: alice,
      sdp: 'v=0\r\n',
      totalTracks: 2,
      mediaState: defaultMediaState(),
      isMigrate: false,
      backupSections: [{ mid: '3', primaryMid: '1' }],
    };
    const wire = (r: typeof req) =>
      fromBinary(pb.JoinRequestSchema, toBinary(pb.JoinRequestSchema, convert.joinToProto(r)));
    assert.deepEqual(convert.joinFromProto(wire(req)), req);
    const bad = wire({ ...req, backupSections: [{ mid: '3 4', primaryMid: '1' }] });
    assert.throws(() => convert.joinFromProto(bad), /backup_sections/);
  });

  it("join and subscribe carry a join token's canPublishData=false and hidden; absent fields (an older sender) mean allowed and visible", () => {
    const base = {
      roomId: room,
      participantId: alice,
      sdp: 'v=0\r\n',
      totalTracks: 1,
      mediaState: defaultMediaState(),
      isMigrate: false,
    };
    const wire = (r: typeof base & { canPublishData?: boolean; hidden?: boolean }) =>
      fromBinary(pb.JoinRequestSchema, toBinary(pb.JoinRequestSchema, convert.joinToProto(r)));
    const denied = { ...base, canPublishData: false, hidden: true };
    assert.deepEqual(convert.joinFromProto(wire(denied)), denied);
    const old = wire(base);
    assert.equal(old.canPublishData, undefined, 'not sent when not given');
    const read = convert.joinFromProto(old);
    assert.notEqual(read.canPublishData, false);
    assert.notEqual(read.hidden, true);
    const sub = { roomId: room, participantId: alice, targetId: ParticipantId('9') };
    const subWire = (r: typeof sub & { canPublishData?: boolean }) =>
      fromBinary(pb.SubscribeRequestSchema, toBinary(pb.SubscribeRequestSchema, convert.subscribeToProto(r)));
    assert.equal(
      convert.subscribeFromProto(subWire({ ...sub, canPublishData: false })).canPublishData,
      false,
    );
    assert.notEqual(convert.subscribeFromProto(subWire(sub)).canPublishData, false);
  });

  it("subscribe carries a WHEP viewer's offer (and its ICE restart) and the reply its answer; without one, neither is set", () => {
    const sub = {
      roomId: room,
      participantId: alice,
      targetId: bob,
      offer: 'v=0\r\n',
      followActiveSpeaker: true,
      iceRestart: true,
    };
    const wire = fromBinary(
      pb.SubscribeRequestSchema,
      toBinary(pb.SubscribeRequestSchema, convert.subscribeToProto(sub)),
    );
    assert.deepEqual(convert.subscribeFromProto(wire), sub);
    const plain = convert.subscribeFromProto(
      convert.subscribeToProto({ roomId: room, participantId: alice, targetId: bob }),
    );
    assert.equal(plain.offer, undefined);
    invalidArgument(
      () =>
        convert.subscribeFromProto(
          convert.subscribeToProto({ ...sub, offer: 'x'.repeat(convert.MAX_SDP_BYTES + 1) }),
        ),
      /offer/,
    );
    const reply = create(pb.SubscribeResponseSchema, {
      offer: '',
      videoCodec: 'video/VP8',
      answer: 'v=0\r\n',
    });
    assert.equal(
      fromBinary(pb.SubscribeResponseSchema, toBinary(pb.SubscribeResponseSchema, reply)).answer,
      'v=0\r\n',
    );
  });

  it("the subscriber answer's refused tracks cross the wire; an unknown kind is dropped", () => {
    const wire = toBinary(
      pb.SetSubscriberAnswerResponseSchema,
      create(pb.SetSubscriberAnswerResponseSchema, {
        refusedTracks: [
          { trackId: 'cam', kind: 'video', mimeType: 'video/H264' },
          { trackId: 'x', kind: 'data', mimeType: 'x/y' },
        ],
      }),
    );
    const back = convert.subscriberAnswerResponseFromProto(
      fromBinary(pb.SetSubscriberAnswerResponseSchema, wire),
    );
    assert.deepEqual(back, { refusedTracks: [{ trackId: 'cam', kind: 'video', mimeType: 'video/H264' }] });
  });

  it('a partial media state keeps unset fields unset and tells a cleared screen track from an unchanged one', () => {
    const unchanged = { roomId: room, participantId: alice, state: { audioEnabled: false } };
    assert.deepEqual(
      convert.mediaStateRequestFromProto(convert.mediaStateRequestToProto(unchanged)),
      unchanged,
    );
    const cleared = {
      roomId: room,
      participantId: alice,
      state: { screenSharing: false, screenTrackId: null },
    };
    assert.deepEqual(convert.mediaStateRequestFromProto(convert.mediaStateRequestToProto(cleared)), cleared);
    const set = { roomId: room, participantId: alice, state: { screenTrackId: 't1', cameraType: 3 } };
    assert.deepEqual(convert.mediaStateRequestFromProto(convert.mediaStateRequestToProto(set)), set);
  });

  it('every SfuEvent survives the wire', () => {
    const candidate = {
      candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
    };
    const events: SfuEvent[] = [
      { type: 'publisherReady', participantId: alice, nodeId: 'node-a', isMigrate: false },
      { type: 'publisherCandidate', participantId: alice, candidate },
      {
        type: 'subscriberCandidate',
        participantId: alice,
        targetId: bob,
        candidate: { candidate: '', sdpMid: null, sdpMLineIndex: null },
      },
      { type: 'subscriberOffer', participantId: alice, targetId: bob, sdp: 'v=0\r\n' },
      { type: 'participantLost', participantId: bob, reason: 'consent_timeout' },
      { type: 'participantLost', participantId: bob, reason: 'worker_restarted' },
      { type: 'activeSpeakers', speakers: [{ participantId: alice, level: 0.25 }] },
      { type: 'activeSpeakers', speakers: [] },
      { type: 'connectionQuality', participantId: alice, quality: 'poor', score: 42.5 },
      { type: 'connectionQuality', participantId: bob, quality: 'lost', score: 0 },
      { type: 'viewerEnded', participantId: alice, targetId: bob, reason: 'consent_timeout' },
      { type: 'viewerEnded', participantId: alice, targetId: bob, reason: 'target_left' },
    ];
    for (const event of events)
      assert.deepEqual(convert.eventFromProto(wire(convert.eventToProto(event))), event);
    const opened = create(pb.EventsResponseSchema, { event: { case: 'opened', value: { nodeId: 'n' } } });
    assert.equal(convert.eventFromProto(wire(opened)), null);
  });

  it('events that break the contract are refused, naming the field', () => {
    invalidArgument(() => convert.eventFromProto(create(pb.EventsResponseSchema)), /event is empty/);
    const unspecified = create(pb.EventsResponseSchema, {
      event: {
        case: 'participantLost',
        value: { participantId: '1', reason: pb.ParticipantLostReason.UNSPECIFIED },
      },
    });
    invalidArgument(() => convert.eventFromProto(unspecified), /reason/);
    const badQuality = create(pb.EventsResponseSchema, {
      event: {
        case: 'connectionQuality',
        value: { participantId: '1', quality: 99 as pb.ConnectionQuality },
      },
    });
    invalidArgument(() => convert.eventFromProto(badQuality), /quality/);
  });

  it('dump round-trips (64-bit counters as numbers)', () => {
    const dump: SfuDump = {
      rooms: [{ roomId: room, participants: [alice, bob], publishers: 2, subscriptions: 2, downTracks: 4 }],
      transports: 4,
      dropped: { malformed: 3, unknownAddress: 2 ** 40, unknownUsername: 0 },
    };
    const m = fromBinary(pb.DumpResponseSchema, toBinary(pb.DumpResponseSchema, convert.dumpToProto(dump)));
    assert.deepEqual(convert.dumpFromProto(m), dump);
    const spanning: SfuDump = {
      rooms: [
        {
          roomId: room,
          participants: [alice],
          publishers: 1,
          subscriptions: 0,
          downTracks: 0,
          workers: [0, 1],
          relays: 2,
          remoteTracks: 0,
        },
      ],
      transports: 1,
      dropped: { malformed: 0, unknownAddress: 0, unknownUsername: 0 },
      handover: {
        batchesSent: 10,
        packetsSent: 40,
        batchesReceived: 9,
        packetsReceived: 36,
        malformed: 1,
        unknownTrack: 2,
      },
    };
    const w = fromBinary(
      pb.DumpResponseSchema,
      toBinary(pb.DumpResponseSchema, convert.dumpToProto(spanning)),
    );
    assert.deepEqual(convert.dumpFromProto(w), spanning);
  });

  it('dump egress stats round-trip (64-bit counters as numbers); a negative CPU time is refused', () => {
    const dump: SfuDump = {
      rooms: [],
      transports: 0,
      dropped: { malformed: 0, unknownAddress: 0, unknownUsername: 0 },
      egressStats: {
        active: { hls: 2, recording: 1, moq: 3 },
        segmentsWritten: 120,
        bytesWritten: 2 ** 40,
        uploadErrors: 4,
        transcodeCpuSeconds: 12.5,
      },
    };
    const m = fromBinary(pb.DumpResponseSchema, toBinary(pb.DumpResponseSchema, convert.dumpToProto(dump)));
    assert.deepEqual(convert.dumpFromProto(m), dump);
    const bad = convert.dumpToProto(dump);
    bad.egressStats!.transcodeCpuSeconds = -1;
    invalidArgument(() => convert.dumpFromProto(bad), /transcode_cpu_seconds/);
  });

  it('requests are validated: required fields, id syntax, sizes, ranges', () => {
    const ok = convert.joinToProto({
      roomId: room,
      participantId: alice,
      sdp: 'v=0',
      totalTracks: 1,
      mediaState: defaultMediaState(),
      isMigrate: false,
    });
    invalidArgument(() => convert.joinFromProto({ ...ok, roomId: '' }), /room_id is required/);
    invalidArgument(
      () => convert.joinFromProto({ ...ok, participantId: 'a b' }),
      /participant_id is not a valid id/,
    );
    invalidArgument(() => convert.joinFromProto({ ...ok, participantId: 'x'.repeat(129) }), /participant_id/);
    invalidArgument(() => convert.joinFromProto({ ...ok, sdp: '' }), /sdp is required/);
    invalidArgument(
      () => convert.joinFromProto({ ...ok, sdp: 'v'.repeat(convert.MAX_SDP_BYTES + 1) }),
      /sdp is longer/,
    );
    invalidArgument(() => convert.joinFromProto({ ...ok, mediaState: undefined }), /media_state is required/);
    invalidArgument(() => convert.joinFromProto({ ...ok, totalTracks: 100_000 }), /total_tracks/);
    invalidArgument(
      () => convert.joinFromProto({ ...ok, mediaState: { ...ok.mediaState!, cameraType: 256 } }),
      /camera_type/,
    );
    const sub = create(pb.SubscribeRequestSchema, { roomId: '1', participantId: '2' });
    invalidArgument(() => convert.subscribeFromProto(sub), /target_id is required/);
    const cand = create(pb.AddPublisherCandidateRequestSchema, { roomId: '1', participantId: '2' });
    invalidArgument(() => convert.publisherCandidateFromProto(cand), /candidate is required/);
    const state = create(pb.SetMediaStateRequestSchema, { roomId: '1', participantId: '2' });
    invalidArgument(() => convert.mediaStateRequestFromProto(state), /state is required/);
    const notCleared = create(pb.SetMediaStateRequestSchema, {
      roomId: '1',
      participantId: '2',
      state: { screenTrack: { case: 'screenTrackCleared', value: false } },
    });
    invalidArgument(() => convert.mediaStateRequestFromProto(notCleared), /screen_track_cleared/);
    invalidArgument(
      () => convert.roomIdFromProto(create(pb.EventsRequestSchema, { roomId: '../x y' })),
      /room_id/,
    );
  });
});
