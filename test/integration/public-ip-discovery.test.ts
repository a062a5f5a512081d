import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { ScriptedPublisher } from '../fakes/scripted-publisher.ts';
import { connectSocket, login, nextEvent, restClient, roomWithParticipants } from '../support/clients.ts';
import { startCoturn } from '../support/coturn.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startStunResponder } from '../support/stun-responder.ts';

/**
 * PUBLIC_IP_DISCOVERY on the real embedded server: the address a STUN server reports at start is
 * the one the media worker announces in the ICE candidates of a publish answer.
 */

/** The addresses of the candidates in the answer to a publish offer. */
async function announcedAddresses(server: TestServer, cleanups: Array<() => unknown>): Promise<string[]> {
  const call = restClient(server.baseUrl);
  const ada = await login(call, 'ada', 'Ada Lovelace');
  const { roomId, pids } = await roomWithParticipants(call, [ada], 'Discovery');
  const socket = await connectSocket(server.baseUrl, ada.token);
  cleanups.push(() => socket.close());
  const publisher = await ScriptedPublisher.create();
  cleanups.push(() => publisher.close());
  const answered = nextEvent<{ sdp: string }>(socket, 'room.publish', 10_000);
  socket.emit('room.publish', {
    sdp: publisher.offer,
    roomId,
    participantId: pids[0],
    isVideoEnabled: true,
    isAudioEnabled: true,
    isE2eeEnabled: false,
    totalTracks: 2,
    connectionType: 1,
  });
  const { sdp } = await answered;
  // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
  const addresses = [...sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ /gm)].map((m) => m[1]!);
  assert.ok(addresses.length > 0, sdp);
  return [...new Set(addresses)];
}

describe('PUBLIC_IP_DISCOVERY on a real server', { timeout: 60_000 }, () => {
  const cleanups: Array<() => unknown> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('announces the address a STUN server reports (198.51.100.7) in the publish answer', async () => {
    const stun = await startStunResponder({ mapped: '198.51.100.7' });
    cleanups.push(() => stun.close());
    const server = await startTestServer({ PUBLIC_IP_DISCOVERY: stun.url }, { media: true });
    cleanups.push(() => server.close());
    assert.ok(stun.requests() >= 1);
    assert.deepEqual(await announcedAddresses(server, cleanups), ['198.51.100.7']);
  });

  it("asks Debian's coturn after a silent server and announces what coturn saw (127.0.0.1)", async () => {
    const silent = await startStunResponder('silent');
    cleanups.push(() => silent.close());
    const coturn = await startCoturn('public-ip-discovery-test-secret');
    cleanups.push(() => coturn.stop());
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const coturnUrl = `stun:127.0.0.1:${coturn.port}`;
    const server = await startTestServer(
      { PUBLIC_IP_DISCOVERY: `${silent.url},${coturnUrl}` },
      { media: true, logger },
    );
    cleanups.push(() => server.close());
    assert.equal(silent.requests(), 3);
    // 127.0.0.1 is also among this machine's own addresses: the log tells discovery gave it.
    const discovered = lines.find((l) => l.msg === 'public address discovered over STUN');
    assert.deepEqual([discovered?.address, discovered?.server], ['127.0.0.1', coturnUrl], coturn.log());
    assert.deepEqual(await announcedAddresses(server, cleanups), ['127.0.0.1']);
  });

  it('PUBLIC_IP wins: no STUN request, PUBLIC_IP announced', async () => {
    const stun = await startStunResponder({ mapped: '198.51.100.7' });
    cleanups.push(() => stun.close());
    const server = await startTestServer(
      { PUBLIC_IP_DISCOVERY: stun.url, PUBLIC_IP: '127.0.0.1' },
      { media: true },
    );
    cleanups.push(() => server.close());
    assert.equal(stun.requests(), 0);
    assert.deepEqual(await announcedAddresses(server, cleanups), ['127.0.0.1']);
  });
});
