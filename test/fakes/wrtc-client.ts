// A Waterbus client on libwebrtc (@roamhq/wrtc), run as a child process by tests: libwebrtc can
// crash the process while it exits, so tests judge the JSON lines this prints, not its exit.
// Usage: node test/fakes/wrtc-client.ts <baseUrl> <token> <roomId> <participantId> publish|subscribe:<targetId> <seconds>
// subscribe-passive:<targetId> answers a=setup:passive: libwebrtc is then the DTLS server, the SFU its client.
import wrtc from '@roamhq/wrtc';
import { connectSocket, nextEvent } from '../support/clients.ts';
import { publishSynthetic } from './wrtc-publish.ts';

const [baseUrl, token, roomId, participantId, role, seconds] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const { RTCPeerConnection, nonstandard } = wrtc;
const report = (msg: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(msg)}\n`);

const socket = await connectSocket(baseUrl, token);
await socket.timeout(3000).emitWithAck('room.reconnect', { roomId, participantId });
const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
const timers: NodeJS.Timeout[] = [];

if (role === 'publish') {
  await publishSynthetic(wrtc, pc, socket, { roomId, participantId }, timers);
  report({ published: true });
} else {
  const targetId = role.split(':')[1]!;
  let framesDecoded = 0;
  let frameWidth = 0;
  let audio = false;
  pc.ontrack = (e) => {
    if (e.track.kind !== 'video') {
      audio = true;
      return;
    }
    const sink = new nonstandard.RTCVideoSink(e.track);
    sink.onframe = ({ frame }: { frame: { width: number } }) => {
      framesDecoded++;
      frameWidth = frame.width;
    };
  };
  const offered = nextEvent<{ offer: string; videoCodec: string }>(socket, 'room.answer_subscriber', 10_000);
  socket.emit('room.subscribe', { targetId, roomId, participantId });
  const { offer, videoCodec } = await offered;
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  const answer = await pc.createAnswer();
  if (role.startsWith('subscribe-passive:'))
    answer.sdp = answer.sdp?.replace(/a=setup:active/g, 'a=setup:passive');
  await pc.setLocalDescription(answer);
  report({ setup: /a=setup:(\w+)/.exec(pc.localDescription?.sdp ?? '')?.[1] });
  socket.emit('room.answer_subscriber', {
    roomId,
    targetId,
    sdp: pc.localDescription!.sdp,
    connectionType: 1,
  });
  timers.push(setInterval(() => report({ framesDecoded, frameWidth, audio, videoCodec }), 500));
}

setTimeout(() => {
  for (const t of timers) clearInterval(t);
  socket.emit('room.leave', { roomId });
  report({ done: true });
  setTimeout(() => process.exit(0), 200);
}, Number(seconds) * 1000);
