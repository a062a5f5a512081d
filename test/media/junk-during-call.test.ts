/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { bindingRequest } from '../fakes/stun-request.ts';
import { ChromiumParticipant, waitFor } from '../support/chromium-participant.ts';
import { login, type RestCall, roomWithParticipants, type TestUser } from '../support/clients.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

/** Every kind of bad datagram: random, truncated and forged STUN, DTLS, RTP and RTCP. */
function junk(serverUfrag: string): Buffer[] {
  const out: Buffer[] = [Buffer.alloc(0), Buffer.from([0]), Buffer.alloc(1500, 0xff)];
  for (let i = 0; i < 50; i++) out.push(randomBytes(1 + Math.floor(Math.random() * 1400)));
  const stun = bindingRequest(`${serverUfrag}:intruder`, 'wrong-password-012345678');
  for (let len = 0; len < stun.length; len += 7) out.push(stun.subarray(0, len));
  out.push(stun, bindingRequest('nobody:intruder', 'x'));
  for (const first of [0x14, 0x16, 0x17])
    out.push(Buffer.from([first, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 10, ...randomBytes(10)]));
  for (const pt of [96, 111, 200, 201, 205, 206]) {
    const rtp = randomBytes(100);
    rtp[0] = 0x80;
    rtp[1] = pt;
    out.push(rtp, rtp.subarray(0, 11));
  }
  return out;
}

describe('a live media worker under junk traffic', { timeout: 120_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  let users: TestUser[];

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite());
    users = [await login(call, 'junk-a', 'A'), await login(call, 'junk-b', 'B')];
  });
  after(() => stopMediaSuite(server, chromium));

  it('drops and counts every malformed datagram; a concurrent call keeps its frame rate', async () => {
    const { roomId, pids } = await roomWithParticipants(call, users, 'Junk');
    const context = await chromium.newContext();
    const pub = await ChromiumParticipant.join({
      baseUrl: server.baseUrl,
      token: users[0]!.token,
      context,
      roomId,
      participantId: pids[0]!,
    });
    const sub = await ChromiumParticipant.join({
      baseUrl: server.baseUrl,
      token: users[1]!.token,
      context,
      roomId,
      participantId: pids[1]!,
    });
    const attacker = dgram.createSocket('udp4');
    try {
      await sub.subscribe(pub.participantId);
      await waitFor(
        () => sub.statsFrom(pub.participantId),
        (s) => (s?.framesDecoded ?? 0) > 30,
        'the call running',
      );
      const offerUfrag = await sub.page.evaluate(() => {
        const sdp = (window as unknown as { subs: Record<string, RTCPeerConnection> }).subs;
        const pc = Object.values(sdp)[0]!;
        return /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription!.sdp)![1]!;
      });
      // Baseline: the call's frame rate over three quiet seconds.
      const quiet0 = (await sub.statsFrom(pub.participantId))!;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const quiet1 = (await sub.statsFrom(pub.participantId))!;
      const baselineFps = (quiet1.framesDecoded - quiet0.framesDecoded) / 3;
      const before = await server.sfu.dump();
      const start = (await sub.statsFrom(pub.participantId))!;
      const startedMs = Date.now();
      // Three seconds of junk, a burst every 20 ms.
      while (Date.now() - startedMs < 3000) {
        for (const datagram of junk(offerUfrag)) attacker.send(datagram, server.mediaPort, '127.0.0.1');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const end = (await sub.statsFrom(pub.participantId))!;
      const fps = (end.framesDecoded - start.framesDecoded) / ((Date.now() - startedMs) / 1000);
      const after = await server.sfu.dump();
      assert.ok(
        fps >= baselineFps * 0.8,
        `the call kept its frame rate: ${fps.toFixed(1)} fps under junk, ${baselineFps.toFixed(1)} before`,
      );
      assert.equal(end.videoPacketsLost, 0);
      assert.ok(after.dropped.malformed > before.dropped.malformed, 'malformed STUN counted');
      assert.ok(
        after.dropped.unknownAddress > before.dropped.unknownAddress,
        'datagrams from an unknown address counted',
      );
      assert.ok(
        after.dropped.unknownUsername > before.dropped.unknownUsername,
        'checks for unknown ICE users counted',
      );
      assert.equal(after.rooms[0]!.publishers, 2, 'nothing was torn down');
      assert.equal(after.transports, before.transports);
    } finally {
      attacker.close();
      await pub.close();
      await sub.close();
      await context.close();
    }
  });
});
