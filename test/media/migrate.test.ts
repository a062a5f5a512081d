/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { waitFor, waitForEmptySfu } from '../support/chromium-participant.ts';
import {
  connectSocket,
  login,
  nextEvent,
  type RestCall,
  roomWithParticipants,
  type TestUser,
} from '../support/clients.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

const P2P = 0;
const SFU = 1;

/** What a page keeps: its camera stream and its connections, by name. */
type PageState = { stream: MediaStream; pcs: Record<string, RTCPeerConnection> };

/**
 * A Waterbus client as the Flutter SDK behaves around migration: it publishes in P2P mode first
 * (its offer kept by the server for whoever subscribes; no ICE trickling here: each description
 * is sent once gathering completed), then builds a new publisher connection and sends
 * `room.migrate` to move to the SFU. Connections live in the page under a name.
 */
class MigratingClient {
  readonly page: Page;
  readonly socket: Socket;
  readonly roomId: string;
  readonly participantId: string;

  constructor(page: Page, socket: Socket, roomId: string, participantId: string) {
    this.page = page;
    this.socket = socket;
    this.roomId = roomId;
    this.participantId = participantId;
  }

  /** A new connection `name` with the camera and microphone (sendonly), and its offer. */
  async publisherOffer(name: string, waitForCandidates: boolean): Promise<string> {
    return this.page.evaluate(
      async ({ name, waitForCandidates }) => {
        const w = window as unknown as { state: PageState };
        w.state ??= {
          stream: await navigator.mediaDevices.getUserMedia({
            video: { width: 320, height: 180, frameRate: 30 },
            audio: true,
          }),
          pcs: {},
        };
        const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
        w.state.pcs[name] = pc;
        for (const track of w.state.stream.getTracks())
          pc.addTransceiver(track, { direction: 'sendonly', streams: [w.state.stream] });
        await pc.setLocalDescription(await pc.createOffer());
        if (waitForCandidates && pc.iceGatheringState !== 'complete') {
          await new Promise<void>((resolve) =>
            pc.addEventListener('icegatheringstatechange', () => {
              if (pc.iceGatheringState === 'complete') resolve();
            }),
          );
        }
        return pc.localDescription!.sdp;
      },
      { name, waitForCandidates },
    );
  }

  /** Answers `offer` on a new receiving connection `name`. */
  async answer(name: string, offer: string, waitForCandidates: boolean): Promise<string> {
    return this.page.evaluate(
      async ({ name, offer, waitForCandidates }) => {
        const w = window as unknown as { state: PageState };
        const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
        w.state.pcs[name] = pc;
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
        await pc.setLocalDescription(await pc.createAnswer());
        if (waitForCandidates && pc.iceGatheringState !== 'complete') {
          await new Promise<void>((resolve) =>
            pc.addEventListener('icegatheringstatechange', () => {
              if (pc.iceGatheringState === 'complete') resolve();
            }),
          );
        }
        return pc.localDescription!.sdp;
      },
      { name, offer, waitForCandidates },
    );
  }

  async setAnswer(name: string, sdp: string): Promise<void> {
    await this.page.evaluate(
      async ({ name, sdp }) => {
        const w = window as unknown as { state: PageState };
        await w.state.pcs[name]!.setRemoteDescription({ type: 'answer', sdp });
      },
      { name, sdp },
    );
  }

  async closeConnection(name: string): Promise<void> {
    await this.page.evaluate((name) => {
      const w = window as unknown as { state: PageState };
      w.state.pcs[name]!.close();
    }, name);
  }

  /** Decoded video frames, packets lost and the remote address of connection `name`'s selected pair. */
  async received(name: string): Promise<{ framesDecoded: number; packetsLost: number; remoteIp: string }> {
    return this.page.evaluate(async (name) => {
      const w = window as unknown as { state: PageState };
      const out = { framesDecoded: 0, packetsLost: 0, remoteIp: '' };
      const pc = w.state.pcs[name];
      if (!pc) return out;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          out.framesDecoded = s.framesDecoded ?? 0;
          out.packetsLost = s.packetsLost ?? 0;
        }
        if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
          const remote = stats.get(s.remoteCandidateId);
          out.remoteIp = `${remote?.address ?? remote?.ip}:${remote?.port}`;
        }
      });
      return out;
    }, name);
  }

  publish(sdp: string, connectionType: number): void {
    this.socket.emit('room.publish', {
      sdp,
      roomId: this.roomId,
      participantId: this.participantId,
      isVideoEnabled: true,
      isAudioEnabled: true,
      isE2eeEnabled: false,
      totalTracks: 2,
      connectionType,
    });
  }

  /** `room.subscribe` → the `room.answer_subscriber` reply carrying the offer to answer. */
  async subscribe(targetId: string): Promise<{ offer: string; connectionType: number }> {
    const reply = nextEvent<{ offer: string; targetId: string; connectionType: number }>(
      this.socket,
      'room.answer_subscriber',
      10_000,
      (m) => String(m.targetId) === targetId,
    );
    this.socket.emit('room.subscribe', { targetId, roomId: this.roomId, participantId: this.participantId });
    return reply;
  }

  answerSubscriber(targetId: string, sdp: string, connectionType: number): void {
    this.socket.emit('room.answer_subscriber', { roomId: this.roomId, targetId, sdp, connectionType });
  }
}

describe('P2P → SFU migration through the real media engine', { timeout: 180_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  let users: TestUser[];

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite());
    users = [await login(call, 'migrate-ann', 'Ann'), await login(call, 'migrate-ben', 'Ben')];
  });
  after(() => stopMediaSuite(server, chromium));

  it('a P2P call; Ann migrates to the SFU; Ben is told (isMigrate), subscribes through the SFU and decodes her there after the P2P connections close', async () => {
    const { roomId, pids } = await roomWithParticipants(call, users, 'Migrate');
    const context = await chromium.newContext();
    const clients: MigratingClient[] = [];
    try {
      for (const [i, user] of users.entries()) {
        const page = await context.newPage();
        await page.goto(`${server.baseUrl}/healthz`);
        clients.push(
          new MigratingClient(page, await connectSocket(server.baseUrl, user.token), roomId, pids[i]!),
        );
      }
      const [ann, ben] = clients as [MigratingClient, MigratingClient];

      // --- P2P: Ben publishes first, Ann's publish is announced to him, he subscribes to her offer.
      ben.publish(await ben.publisherOffer('p2p-pub', true), P2P);
      const annAnnounced = nextEvent<{ participant: { id: number }; isMigrate: boolean }>(
        ben.socket,
        'room.new_participant',
        10_000,
      );
      ann.publish(await ann.publisherOffer('p2p-pub', true), P2P);
      const announced = await annAnnounced;
      assert.equal(String(announced.participant.id), ann.participantId);
      assert.equal(announced.isMigrate, false);
      const p2pOffer = await ben.subscribe(ann.participantId);
      assert.equal(p2pOffer.connectionType, P2P);
      // Ben's answer reaches Ann as `room.publish` (the P2P relay).
      const annGetsAnswer = nextEvent<{ sdp: string }>(ann.socket, 'room.publish', 10_000);
      ben.answerSubscriber(ann.participantId, await ben.answer('p2p-sub', p2pOffer.offer, true), P2P);
      await ann.setAnswer('p2p-pub', (await annGetsAnswer).sdp);
      const p2p = await waitFor(
        () => ben.received('p2p-sub'),
        (r) => r.framesDecoded > 10 && r.remoteIp !== '',
        'Ben decoding Ann over P2P',
        30_000,
      );
      assert.doesNotMatch(p2p.remoteIp, new RegExp(`:${server.mediaPort}$`), 'browser to browser');
      const p2pDump = await server.sfu.dump();
      assert.equal(p2pDump.transports, 0, 'the SFU carries nothing of a P2P call');

      // --- Ann migrates: a new publisher connection, offered with `room.migrate`.
      const migrated = nextEvent<{ sdp: string }>(ann.socket, 'room.migrate', 10_000);
      const reannounced = nextEvent<{ participant: { id: number }; isMigrate: boolean }>(
        ben.socket,
        'room.new_participant',
        20_000,
      );
      ann.socket.emit('room.migrate', {
        sdp: await ann.publisherOffer('sfu-pub', false),
        roomId,
        participantId: ann.participantId,
        connectionType: SFU,
      });
      await ann.setAnswer('sfu-pub', (await migrated).sdp);
      const again = await reannounced;
      assert.equal(String(again.participant.id), ann.participantId);
      assert.equal(again.isMigrate, true, 'announced as a migration once her tracks reach the SFU');

      // --- Ben re-subscribes: this time the offer is the SFU's.
      const sfuOffer = await ben.subscribe(ann.participantId);
      assert.equal(sfuOffer.connectionType, SFU);
      assert.match(sfuOffer.offer, /a=ice-lite/, 'an offer from our ICE-lite SFU');
      ben.answerSubscriber(ann.participantId, await ben.answer('sfu-sub', sfuOffer.offer, false), SFU);
      const viaSfu = await waitFor(
        () => ben.received('sfu-sub'),
        (r) => r.framesDecoded > 10,
        'Ben decoding Ann through the SFU',
        30_000,
      );
      assert.match(viaSfu.remoteIp, new RegExp(`:${server.mediaPort}$`), 'the pair ends at the media worker');

      // As the SDK does once the SFU path works: the P2P connections close; media keeps flowing.
      await ann.closeConnection('p2p-pub');
      await ben.closeConnection('p2p-sub');
      const before = await ben.received('sfu-sub');
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const later = await ben.received('sfu-sub');
      assert.ok(later.framesDecoded > before.framesDecoded, 'frames keep coming through the SFU alone');
      assert.equal(later.packetsLost, 0);
      const dump = await server.sfu.dump();
      assert.equal(dump.rooms.length, 1);
      assert.equal(dump.rooms[0]!.publishers, 1, 'Ann publishes through the SFU; Ben is still P2P');
      assert.equal(dump.rooms[0]!.subscriptions, 1);

      for (const c of clients) c.socket.emit('room.leave', { roomId });
      await waitForEmptySfu(server.sfu);
    } finally {
      for (const c of clients) {
        c.socket.close();
        await c.page.close();
      }
      await context.close();
    }
  });
});
