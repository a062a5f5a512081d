// A media worker for testing MediaWorkerPool's mechanics (placement, request routing, crash
// recovery) without media: it records the operations it is asked to run. `crash` ends the thread.
// Each join counts one forwarded packet in the worker's media counters (what its load report carries).
import { SfuError } from '../../src/lib/errors.ts';
import { type ParticipantId, RoomId } from '../../src/lib/ids.ts';
import { mediaCounters } from '../../src/lib/media-counters.ts';
import { serveWorker } from '../../src/sfu/media/worker-host.ts';

await serveWorker(async (data, emit) => {
  const rooms = new Map<string, Set<string>>();
  return {
    async run(op, args) {
      const req = args as { roomId: string; participantId: string; sdp?: string };
      if (req.sdp === 'crash') process.exit(3);
      if (req.sdp === 'hang') return new Promise(() => undefined);
      if (req.sdp === 'bad') throw new SfuError('invalid_argument', 'bad sdp');
      if (op === 'join') {
        mediaCounters.forwardedPackets++;
        let set = rooms.get(req.roomId);
        if (!set) {
          set = new Set();
          rooms.set(req.roomId, set);
        }
        set.add(req.participantId);
        emit(RoomId(req.roomId), {
          type: 'publisherReady',
          participantId: req.participantId as ParticipantId,
          nodeId: data.nodeId,
          isMigrate: false,
        });
        return { sdp: `answer-from-worker-${data.index}`, isRecording: false };
      }
      if (op === 'leave') {
        rooms.get(req.roomId)?.delete(req.participantId);
        if (rooms.get(req.roomId)?.size === 0) rooms.delete(req.roomId);
      }
      return {};
    },
    dump: () => ({
      rooms: [...rooms].map(([roomId, ps]) => ({
        roomId: RoomId(roomId),
        participants: [...ps] as ParticipantId[],
        publishers: ps.size,
        subscriptions: 0,
        downTracks: 0,
      })),
      transports: 0,
      dropped: { malformed: 0, unknownAddress: 0, unknownUsername: 0 },
    }),
    close: async () => undefined,
  };
});
