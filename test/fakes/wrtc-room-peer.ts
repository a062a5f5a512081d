// A Waterbus room participant on libwebrtc (@roamhq/wrtc), run as a child process by tests: it
// publishes a 320x180 VP8 camera and an Opus tone, subscribes to each target once that target
// publishes (retrying room.subscribe until the SFU answers), and prints JSON lines: {published},
// then every 500 ms {received: {<targetId>: {framesDecoded, frameWidth, videoPackets, audioPackets}}}.
// On SIGTERM or after <seconds> it leaves the room and exits. libwebrtc can crash the process while
// it exits, so tests judge the lines, not the exit.
// Usage: node test/fakes/wrtc-room-peer.ts <baseUrl> <token> <roomId> <participantId> <targetId,...> <seconds>
import wrtc from '@roamhq/wrtc';
import { connectSocket, nextEvent } from '../support/clients.ts';
import { publishSynthetic } from './wrtc-publish.ts';

const [baseUrl, token, roomId, participantId, targetList, seconds] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const { RTCPeerConnection, nonstandard } = wrtc;
const report = (msg: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const targets = targetList.split(',').filter((t) => t.length > 0);

const socket = await connectSocket(baseUrl, token);
await socket.timeout(3000).emitWithAck('room.reconnect', { roomId, participantId });
const timers: NodeJS.Timeout[] = [];
const connections: Array<InstanceType<typeof RTCPeerConnection>> = [];

// Publish.
const pub = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
connections.push(pub);
await publishSynthetic(wrtc, pub, socket, { roomId, participantId }, timers);
report({ published: true });

// Subscribe to each target.
interface Received {
  framesDecoded: number;
  frameWidth: number;
  videoPackets: number;
  audioPackets: number;
}
const received: Record<string, Received> = {};
const subscriptions = new Map<string, InstanceType<typeof RTCPeerConnection>>();

async function subscribe(targetId: string): Promise<void> {
  for (;;) {
    const offered = nextEvent<{ offer: string; targetId: string }>(
      socket,
      'room.answer_subscriber',
      2000,
      (m) => String(m.targetId) === targetId,
    );
    socket.emit('room.subscribe', { targetId, roomId, participantId });
    try {
      const { offer } = await offered;
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
      connections.push(pc);
      subscriptions.set(targetId, pc);
      const r: Received = { framesDecoded: 0, frameWidth: 0, videoPackets: 0, audioPackets: 0 };
      received[targetId] = r;
      pc.ontrack = (e) => {
        if (e.track.kind !== 'video') return;
        const sink = new nonstandard.RTCVideoSink(e.track);
        sink.onframe = ({ frame: f }: { frame: { width: number } }) => {
          r.framesDecoded++;
          r.frameWidth = f.width;
        };
      };
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      await pc.setLocalDescription(await pc.createAnswer());
      socket.emit('room.answer_subscriber', {
        roomId,
        targetId,
        sdp: pc.localDescription!.sdp,
        connectionType: 1,
      });
      return;
    } catch {
      // Not published yet (or the SFU refused): try again.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

await Promise.all(targets.map((target) => subscribe(target)));
timers.push(
  setInterval(async () => {
    for (const [targetId, pc] of subscriptions) {
      const r = received[targetId]!;
      try {
        const stats = await pc.getStats();
        stats.forEach((s: { type: string; kind?: string; mediaType?: string; packetsReceived?: number }) => {
          if (s.type !== 'inbound-rtp') return;
          const kind = s.kind ?? s.mediaType;
          if (kind === 'audio') r.audioPackets = s.packetsReceived ?? 0;
          else if (kind === 'video') r.videoPackets = s.packetsReceived ?? 0;
        });
      } catch {
        // Stats are best effort; frames decoded are counted by the sink.
      }
    }
    report({ received });
  }, 500),
);

let leaving = false;
function leave(): void {
  if (leaving) return;
  leaving = true;
  for (const timer of timers) clearInterval(timer);
  socket.emit('room.leave', { roomId });
  report({ done: true });
  setTimeout(() => {
    for (const pc of connections) pc.close();
    process.exit(0);
  }, 300);
}
process.on('SIGTERM', leave);
setTimeout(leave, Number(seconds) * 1000);
