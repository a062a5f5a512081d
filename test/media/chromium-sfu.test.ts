/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { launchChromium } from '../support/browser.ts';
import {
  connectSocket,
  login,
  nextEvent,
  type RestCall,
  restClient,
  type TestUser,
} from '../support/clients.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Real Chromium publishes camera + microphone through the SFU over the Waterbus socket protocol,
 * and a second Chromium page subscribes and decodes. Node speaks socket.io for each page; the
 * pages only run RTCPeerConnection.
 */

type Codec = 'VP8' | 'H264' | 'VP9';

async function publisherOffer(page: Page, codec: Codec): Promise<string> {
  return page.evaluate(async (codec) => {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: 640, height: 360, frameRate: 30 },
      audio: true,
    });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    (window as unknown as { pc: RTCPeerConnection }).pc = pc;
    const video = pc.addTransceiver(stream.getVideoTracks()[0]!, {
      direction: 'sendonly',
      streams: [stream],
    });
    pc.addTransceiver(stream.getAudioTracks()[0]!, { direction: 'sendonly', streams: [stream] });
    const codecs = RTCRtpSender.getCapabilities('video')!.codecs.filter(
      (c) => c.mimeType === `video/${codec}` || c.mimeType === 'video/rtx',
    );
    video.setCodecPreferences(codecs);
    await pc.setLocalDescription(await pc.createOffer());
    return pc.localDescription!.sdp;
  }, codec);
}

async function subscriberAnswer(page: Page, offer: string): Promise<string> {
  return page.evaluate(async (offer) => {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    (window as unknown as { pc: RTCPeerConnection }).pc = pc;
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    return pc.localDescription!.sdp;
  }, offer);
}

interface InboundStats {
  framesDecoded: number;
  framesPerSecond: number;
  videoPacketsLost: number;
  audioPackets: number;
  audioPacketsLost: number;
  codec: string;
}

async function inboundStats(page: Page): Promise<InboundStats> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
    const out = {
      framesDecoded: 0,
      framesPerSecond: 0,
      videoPacketsLost: 0,
      audioPackets: 0,
      audioPacketsLost: 0,
      codec: '',
    };
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') {
        out.framesDecoded = s.framesDecoded ?? 0;
        out.framesPerSecond = s.framesPerSecond ?? 0;
        out.videoPacketsLost = s.packetsLost ?? 0;
        const codec = s.codecId ? stats.get(s.codecId) : undefined;
        out.codec = codec?.mimeType ?? '';
      } else if (s.kind === 'audio') {
        out.audioPackets = s.packetsReceived ?? 0;
        out.audioPacketsLost = s.packetsLost ?? 0;
      }
    });
    return out;
  });
}

async function waitFor<T>(
  probe: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    last = await probe();
  }
  return last;
}

describe('SFU with real Chromium peers', { timeout: 180_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    server = await startTestServer({}, { media: true });
    call = restClient(server.baseUrl);
    chromium = await launchChromium();
    alice = await login(call, 'media-alice', 'Alice');
    bob = await login(call, 'media-bob', 'Bob');
  });
  after(async () => {
    await chromium?.close();
    await server?.close();
  });

  async function joinRoom() {
    const room = await call<{ id: number }>('POST', '/rooms', {
      token: alice.token,
      body: { title: 'Media' },
    });
    const pid = async (user: TestUser) => {
      const res = await call<{ participants: Array<{ id: number; userId: number }> }>(
        'POST',
        `/rooms/${room.body.id}/join`,
        { token: user.token, body: {} },
      );
      return res.body.participants.find((p) => p.userId === user.id)!.id;
    };
    return {
      roomId: String(room.body.id),
      alicePid: String(await pid(alice)),
      bobPid: String(await pid(bob)),
    };
  }

  for (const codec of ['VP8', 'H264', 'VP9'] as const) {
    it(`${codec}: Chromium publishes, another Chromium subscribes and decodes at the publisher's frame rate`, async () => {
      const { roomId, alicePid, bobPid } = await joinRoom();
      const [pubContext, subContext] = [await chromium.newContext(), await chromium.newContext()];
      const [pubPage, subPage] = [await pubContext.newPage(), await subContext.newPage()];
      // getUserMedia needs a secure context: loopback http is one.
      await pubPage.goto(`${server.baseUrl}/healthz`);
      await subPage.goto(`${server.baseUrl}/healthz`);
      const sockets: Socket[] = [];
      try {
        const a = await connectSocket(server.baseUrl, alice.token);
        const b = await connectSocket(server.baseUrl, bob.token);
        sockets.push(a, b);
        // Bob is in the room (P2P idle publisher) so that he hears about Alice.
        await b.timeout(3000).emitWithAck('room.reconnect', { roomId, participantId: bobPid });

        const offer = await publisherOffer(pubPage, codec);
        const answered = nextEvent<{ sdp: string }>(a, 'room.publish', 10_000);
        const announced = nextEvent<{ participant: { id: number } }>(b, 'room.new_participant', 20_000);
        a.emit('room.publish', {
          sdp: offer,
          roomId,
          participantId: alicePid,
          isVideoEnabled: true,
          isAudioEnabled: true,
          isE2eeEnabled: false,
          totalTracks: 2,
          connectionType: 1,
        });
        const { sdp: answer } = await answered;
        await pubPage.evaluate(async (sdp) => {
          await (window as unknown as { pc: RTCPeerConnection }).pc.setRemoteDescription({
            type: 'answer',
            sdp,
          });
        }, answer);
        assert.equal(
          (await announced).participant.id,
          Number(alicePid),
          'room.new_participant once all tracks arrive',
        );

        const subscribed = nextEvent<{ offer: string; videoCodec: string; targetId: string }>(
          b,
          'room.answer_subscriber',
          10_000,
        );
        b.emit('room.subscribe', { targetId: alicePid, roomId, participantId: bobPid });
        const sub = await subscribed;
        assert.equal(sub.videoCodec.toUpperCase(), `VIDEO/${codec}`);
        const subAnswer = await subscriberAnswer(subPage, sub.offer);
        b.emit('room.answer_subscriber', { roomId, targetId: alicePid, sdp: subAnswer, connectionType: 1 });

        const first = await waitFor(
          () => inboundStats(subPage),
          (s) => s.framesDecoded > 0 && s.audioPackets > 0,
          'first decoded frame',
        );
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const later = await inboundStats(subPage);
        const fps = (later.framesDecoded - first.framesDecoded) / 3;
        assert.ok(fps >= 15, `decoding at ${fps.toFixed(1)} fps (fake camera sends 30)`);
        assert.ok(later.audioPackets > first.audioPackets, 'audio keeps arriving');
        assert.equal(later.videoPacketsLost, 0);
        assert.equal(later.audioPacketsLost, 0);
        assert.equal(later.codec.toUpperCase(), `VIDEO/${codec}`);

        // Alice leaves: Bob is told, and the SFU holds nothing for this room afterwards.
        const left = nextEvent(b, 'room.participant_left');
        a.emit('room.leave', { roomId });
        await left;
        b.emit('room.leave', { roomId });
        await waitFor(
          () => server.sfu.dump(),
          (d) => d.rooms.length === 0 && d.transports === 0,
          'an empty SFU',
          5000,
        );
      } finally {
        for (const s of sockets) s.close();
        await pubContext.close();
        await subContext.close();
      }
    });
  }
});
