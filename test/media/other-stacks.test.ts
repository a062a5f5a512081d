import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { RTCPeerConnection as WeriftPeerConnection } from 'werift';
import {
  connectSocket,
  login,
  nextEvent,
  type RestCall,
  restClient,
  roomWithParticipants,
  type TestUser,
} from '../support/clients.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The same Waterbus SFU flow with WebRTC stacks other than Chromium: libwebrtc in Node
 * (@roamhq/wrtc: real VP8 encoder and decoder) publishes and subscribes, werift (a JavaScript
 * stack) subscribes and receives the RTP.
 */

const WRTC_CLIENT = new URL('../fakes/wrtc-client.ts', import.meta.url).pathname;

/** Runs a wrtc client child process; resolves with the JSON lines it printed. */
function wrtcClient(args: string[], onLine: (msg: Record<string, unknown>) => void): Promise<void> {
  const child = spawn(process.execPath, [WRTC_CLIENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(JSON.parse(line) as Record<string, unknown>);
  });
  return new Promise((resolve) => child.on('exit', () => resolve()));
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('other WebRTC stacks as Waterbus clients through the SFU', { timeout: 120_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let users: TestUser[];

  before(async () => {
    server = await startTestServer({}, { media: true });
    call = restClient(server.baseUrl);
    users = [
      await login(call, 'stack-pub', 'pub'),
      await login(call, 'stack-wrtc', 'wrtc'),
      await login(call, 'stack-werift', 'werift'),
    ];
  });
  after(async () => {
    await server?.close();
  });

  it('a wrtc publisher; a wrtc subscriber decodes its video and receives audio; a werift subscriber receives its RTP', async () => {
    const { roomId, pids } = await roomWithParticipants(call, users, 'Stacks');
    const weriftSocket: Socket = await connectSocket(server.baseUrl, users[2]!.token);
    const weriftSub = new WeriftPeerConnection({ bundlePolicy: 'max-bundle' });
    try {
      await weriftSocket.timeout(2000).emitWithAck('room.reconnect', { roomId, participantId: pids[2]! });
      const announced = nextEvent(weriftSocket, 'room.new_participant', 20_000);
      let published = false;
      const publisher = wrtcClient(
        [server.baseUrl, users[0]!.token, roomId, pids[0]!, 'publish', '12'],
        (m) => {
          if (m.published) published = true;
        },
      );
      await until(() => published, 'the wrtc publisher answered');
      await announced;

      let last: Record<string, unknown> = {};
      const subscriber = wrtcClient(
        [server.baseUrl, users[1]!.token, roomId, pids[1]!, `subscribe:${pids[0]}`, '8'],
        (m) => {
          if ('framesDecoded' in m) last = m;
        },
      );

      const packets = { video: 0, audio: 0 };
      weriftSub.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe(() => {
          packets[track.kind as 'video' | 'audio']++;
        });
      });
      const offered = nextEvent<{ offer: string }>(weriftSocket, 'room.answer_subscriber');
      weriftSocket.emit('room.subscribe', { targetId: pids[0], roomId, participantId: pids[2] });
      await weriftSub.setRemoteDescription({ type: 'offer', sdp: (await offered).offer });
      await weriftSub.setLocalDescription(await weriftSub.createAnswer());
      weriftSocket.emit('room.answer_subscriber', {
        roomId,
        targetId: pids[0],
        sdp: weriftSub.localDescription!.sdp,
        connectionType: 1,
      });

      await until(
        () => Number(last.framesDecoded ?? 0) > 30 && last.audio === true,
        'the wrtc subscriber decoding 30 frames',
      );
      assert.equal(last.frameWidth, 320);
      assert.equal(last.videoCodec, 'video/VP8');
      await until(() => packets.video > 30 && packets.audio > 30, 'werift receiving video and audio RTP');
      weriftSocket.emit('room.leave', { roomId });
      await Promise.all([publisher, subscriber]);
    } finally {
      await weriftSub.close();
      weriftSocket.close();
    }
  });

  // The SFU as the DTLS client: it checks libwebrtc's ServerKeyExchange signature and Finished
  // (src/transport/dtls/handshake-proof.ts) before it uses any key.
  it('a wrtc subscriber answering a=setup:passive (the SFU as DTLS client) decodes the video', async () => {
    const { roomId, pids } = await roomWithParticipants(call, users.slice(0, 2), 'Stacks passive');
    let published = false;
    const publisher = wrtcClient([server.baseUrl, users[0]!.token, roomId, pids[0]!, 'publish', '8'], (m) => {
      if (m.published) published = true;
    });
    await until(() => published, 'the wrtc publisher answered');
    let last: Record<string, unknown> = {};
    let setup: unknown;
    const subscriber = wrtcClient(
      [server.baseUrl, users[1]!.token, roomId, pids[1]!, `subscribe-passive:${pids[0]}`, '6'],
      (m) => {
        if ('setup' in m) setup = m.setup;
        if ('framesDecoded' in m) last = m;
      },
    );
    await until(() => Number(last.framesDecoded ?? 0) > 30, 'the passive wrtc subscriber decoding 30 frames');
    assert.equal(setup, 'passive');
    await Promise.all([publisher, subscriber]);
  });
});
