import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { type RTCDataChannel, RTCPeerConnection } from 'werift';
import { DEFAULT_GRANTS, type JoinGrants, mintJoinToken } from '../../src/lib/join-token.ts';
import { connectSocket, login, type RestCall, restClient } from '../support/clients.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const SECRET = 'join-token-data-test-secret-0123456789';
const WAIT_MS = 20_000;

/** Polls `check` (bounded) until it is true; fails with `what` after WAIT_MS. */
async function until(check: () => boolean | Promise<boolean>, what: () => string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A room participant on werift with only the room data channel `bbmeet-data` on its publisher
 * connection (through the real socket and SFU), recording what the SFU relays to it.
 */
class DataPeer {
  readonly received: string[] = [];
  readonly pc = new RTCPeerConnection({
    bundlePolicy: 'max-bundle',
    // A STUN server on loopback that never answers keeps werift off the network.
    iceServers: [{ urls: 'stun:127.0.0.1:9' }],
    iceStunGatherTimeout: 0.2,
  });
  // Id 0: as DTLS client werift must take even stream ids (RFC 8832 §6), but it picks by ICE role.
  readonly channel: RTCDataChannel = this.pc.createDataChannel('bbmeet-data', { id: 0 });
  socket!: Socket;

  constructor() {
    this.channel.onMessage.subscribe((data) => this.received.push(String(data)));
  }

  async publish(baseUrl: string, token: string, roomId: number, participantId: number): Promise<void> {
    this.socket = await connectSocket(baseUrl, token);
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const ack = await this.socket.emitWithAck('room.publish', {
      sdp: this.pc.localDescription!.sdp,
      roomId: String(roomId),
      participantId: String(participantId),
      isVideoEnabled: false,
      isAudioEnabled: false,
      isE2eeEnabled: false,
      totalTracks: 0,
      connectionType: 1,
    });
    assert.equal(ack.error, undefined, JSON.stringify(ack));
    await this.pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
    await until(
      () => this.channel.readyState === 'open',
      () => `bbmeet-data to open (${this.pc.connectionState})`,
    );
  }

  async close(): Promise<void> {
    this.socket?.close();
    await this.pc.close();
  }
}

/**
 * canPublishData=false on real WebRTC peers: the SFU drops the participant's room data channel
 * messages (and counts them), while it still hears the others.
 */
describe('security: join token canPublishData on the room data channels', { timeout: 120_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let room: { id: number; code: string };
  const peers: DataPeer[] = [];

  before(async () => {
    server = await startTestServer({ AUTH_IDENTITY_SECRET: SECRET }, { media: true });
    call = restClient(server.baseUrl);
    const host = await login(call, 'jtd-host');
    room = (
      await call<{ id: number; code: string }>('POST', '/rooms', { token: host.token, body: { title: 'D' } })
    ).body;
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await server.close();
  });

  async function peerWith(identity: string, grants: Partial<JoinGrants>): Promise<DataPeer> {
    const token = mintJoinToken(
      { identity, room: room.code, grants: { ...DEFAULT_GRANTS, ...grants }, ttlS: 600 },
      SECRET,
    );
    const joined = await call<{ participants: Array<{ id: number }> }>('POST', `/rooms/${room.id}/join`, {
      token,
      body: {},
    });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    const peer = new DataPeer();
    peers.push(peer);
    await peer.publish(server.baseUrl, token, room.id, joined.body.participants.at(-1)!.id);
    return peer;
  }

  it("canPublishData=false: the SFU does not relay the participant's bbmeet-data messages; the other participant is still heard", async () => {
    const muted = await peerWith('jtd-muted', { canPublishData: false });
    const speaker = await peerWith('jtd-speaker', {});
    const refused = async () => (await server.sfu.dump()).data?.refused ?? 0;
    muted.channel.send('from the muted one');
    // Either the SFU counts the message as refused, or (without the grant enforced) relays it.
    await until(
      async () => (await refused()) >= 1 || speaker.received.length > 0,
      () => 'the muted message to be refused or relayed',
    );
    assert.deepEqual(speaker.received, [], 'the muted participant was heard');
    speaker.channel.send('from the speaker');
    await until(
      () => muted.received.length > 0,
      () => 'the speaker to be heard',
    );
    const speakerId = (JSON.parse(muted.received[0]!) as { from: string }).from;
    assert.deepEqual(JSON.parse(muted.received[0]!), { from: speakerId, data: 'from the speaker' });
    assert.equal(await refused(), 1);
    assert.deepEqual(speaker.received, [], 'still nothing from the muted participant');
  });
});
