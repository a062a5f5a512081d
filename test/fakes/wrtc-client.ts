// A Waterbus client on libwebrtc (@roamhq/wrtc), run as a child process by tests: libwebrtc can
// crash the process while it exits, so tests judge the JSON lines this prints, not its exit.
// Usage: node test/fakes/wrtc-client.ts <baseUrl> <token> <roomId> <participantId> publish|subscribe:<targetId> <seconds>
import wrtc from '@roamhq/wrtc';
import { connectSocket, nextEvent } from '../support/clients.ts';

const [baseUrl, token, roomId, participantId, role, seconds] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const { RTCPeerConnection, nonstandard } = wrtc;
const WIDTH = 320;
const HEIGHT = 180;
const report = (msg: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(msg)}\n`);

const socket = await connectSocket(baseUrl, token);
await socket.timeout(3000).emitWithAck('room.reconnect', { roomId, participantId });
const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
const timers: NodeJS.Timeout[] = [];

if (role === 'publish') {
  const video = new nonstandard.RTCVideoSource();
  const audio = new nonstandard.RTCAudioSource();
  pc.addTransceiver(video.createTrack(), { direction: 'sendonly' });
  pc.addTransceiver(audio.createTrack(), { direction: 'sendonly' });
  let frame = 0;
  timers.push(
    setInterval(() => {
      const data = new Uint8Array(WIDTH * HEIGHT * 1.5);
      for (let i = 0; i < WIDTH * HEIGHT; i++) data[i] = (i + frame * 7) & 0xff;
      data.fill(128, WIDTH * HEIGHT);
      video.onFrame({ width: WIDTH, height: HEIGHT, data });
      frame++;
    }, 33),
  );
  let t = 0;
  timers.push(
    setInterval(() => {
      const samples = new Int16Array(480);
      for (let i = 0; i < samples.length; i++)
        samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * t++) / 48_000));
      audio.onData({ samples, sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
    }, 10),
  );
  await pc.setLocalDescription(await pc.createOffer());
  const answered = nextEvent<{ sdp: string }>(socket, 'room.publish', 10_000);
  socket.emit('room.publish', {
    sdp: pc.localDescription!.sdp,
    roomId,
    participantId,
    isVideoEnabled: true,
    isAudioEnabled: true,
    isE2eeEnabled: false,
    totalTracks: 2,
    connectionType: 1,
  });
  await pc.setRemoteDescription({ type: 'answer', sdp: (await answered).sdp });
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
  await pc.setLocalDescription(await pc.createAnswer());
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
