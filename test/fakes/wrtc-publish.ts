// Publishing from a libwebrtc (@roamhq/wrtc) peer connection, for the wrtc test peers (child
// processes): a synthetic 320x180 camera (a moving gradient, 30 fps) and a 440 Hz Opus tone, sent
// to the SFU with the Waterbus `room.publish` flow.
import type wrtc from '@roamhq/wrtc';
import type { Socket } from 'socket.io-client';
import { nextEvent } from '../support/clients.ts';

const WIDTH = 320;
const HEIGHT = 180;

type PeerConnection = InstanceType<typeof wrtc.RTCPeerConnection>;

/**
 * Adds the synthetic tracks to `pc` (their timers go into `timers`, for the caller to clear),
 * offers them with `room.publish` and applies the SFU's answer.
 */
export async function publishSynthetic(
  lib: typeof wrtc,
  pc: PeerConnection,
  socket: Socket,
  ids: { roomId: string; participantId: string },
  timers: NodeJS.Timeout[],
): Promise<void> {
  const video = new lib.nonstandard.RTCVideoSource();
  const audio = new lib.nonstandard.RTCAudioSource();
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
    roomId: ids.roomId,
    participantId: ids.participantId,
    isVideoEnabled: true,
    isAudioEnabled: true,
    isE2eeEnabled: false,
    totalTracks: 2,
    connectionType: 1,
  });
  await pc.setRemoteDescription({ type: 'answer', sdp: (await answered).sdp });
}
