import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { ScriptedPublisher } from '../fakes/scripted-publisher.ts';
import { connectSocket, login, nextEvent, restClient, roomWithParticipants } from '../support/clients.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { adminCli, bbmeet, type Json, joinWithoutMedia, publishMedia } from './admin-cli-support.ts';

/**
 * Every admin command of the CLI (docs/admin.md), run as a child process against the real server
 * with a room of socket clients: Ada publishes real SRTP (simulcast VP8 and Opus), Bob and Cy
 * are in the room without media. The commands' effects are what the clients receive.
 */

const SECRET = 'admin-cli-secret-0123456789abcdefghij';

describe('bbmeet admin commands against a running server', { timeout: 120_000 }, () => {
  let server: TestServer;
  let publisher: ScriptedPublisher;
  const sockets: Socket[] = [];
  let roomId: string;
  let code: string;
  let ada: { pid: string; socket: Socket };
  let bob: { pid: string; socket: Socket };
  let cy: { pid: string; socket: Socket };
  const { run, json } = adminCli(() => server.baseUrl, SECRET);

  before(async () => {
    server = await startTestServer({ AUTH_IDENTITY_SECRET: SECRET, PUBLIC_IP: '127.0.0.1' }, { media: true });
    const call = restClient(server.baseUrl);
    const users = [
      await login(call, 'ada', 'Ada'),
      await login(call, 'bob', 'Bob'),
      await login(call, 'cy', 'Cy'),
    ];
    const made = await roomWithParticipants(call, users, 'Standup');
    roomId = made.roomId;
    code = made.code;
    const [adaSocket, bobSocket, cySocket] = await Promise.all(
      users.map((u) => connectSocket(server.baseUrl, u.token)),
    );
    sockets.push(adaSocket!, bobSocket!, cySocket!);
    ada = { pid: made.pids[0]!, socket: adaSocket! };
    bob = { pid: made.pids[1]!, socket: bobSocket! };
    cy = { pid: made.pids[2]!, socket: cySocket! };
    await joinWithoutMedia(bob.socket, roomId, bob.pid);
    await joinWithoutMedia(cy.socket, roomId, cy.pid);
    publisher = await ScriptedPublisher.create();
    await publishMedia(ada.socket, publisher, { roomId, participantId: ada.pid }, bob.socket);
  });

  after(async () => {
    publisher?.close();
    for (const s of sockets) s.close();
    await server?.close();
  });

  it('each command has --help; usage errors exit 2, refusals exit 1 with the server’s message', async () => {
    for (const cmd of [
      'rooms',
      'participants',
      'mute',
      'remove-participant',
      'end-room',
      'update-participant',
      'egress',
      'start-egress',
      'stop-egress',
    ]) {
      const help = await bbmeet([cmd, '--help'], {});
      assert.equal(help.code, 0, cmd);
      assert.match(help.stdout, new RegExp(`^bbmeet ${cmd}`), cmd);
    }
    assert.equal((await run('mute', roomId, ada.pid)).code, 2, 'neither --audio nor --video');
    assert.equal((await run('participants')).code, 2, 'no room');
    const unknown = await run('mute', roomId, '999999', '--audio');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /404 Participant with ID 999999 not found/);
    const noSecret = await bbmeet(['rooms', '--url', server.baseUrl], {});
    assert.equal(noSecret.code, 1);
    assert.match(noSecret.stderr, /AUTH_IDENTITY_SECRET/);
    const wrong = await bbmeet(['rooms', '--url', server.baseUrl], { AUTH_IDENTITY_SECRET: `${SECRET}x` });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /401/);
  });

  it('rooms lists the live room with its participant count and node, as a table and as JSON', async () => {
    const listed = await json('rooms');
    const room = listed.rooms.find((r: Json) => String(r.id) === roomId);
    assert.equal(room?.code, code);
    assert.equal(room?.participants, 3);
    assert.equal(typeof room?.nodeId, 'string');
    const table = await run('rooms');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID +CODE +TITLE +PARTICIPANTS +NODE/);
    assert.match(table.stdout, new RegExp(`\\n${roomId} +${code} +Standup +3 +${room.nodeId}`));
  });

  it('participants shows the publisher’s tracks (simulcast layers, codec, source), by room id or code', async () => {
    const seen = await json('participants', code);
    assert.deepEqual(
      seen.participants.map((p: Json) => [p.id, p.name]),
      [
        [ada.pid, 'Ada'],
        [bob.pid, 'Bob'],
        [cy.pid, 'Cy'],
      ],
    );
    const tracks = seen.participants[0].tracks as Json[];
    const video = tracks.find((t) => t.kind === 'video');
    const audio = tracks.find((t) => t.kind === 'audio');
    assert.deepEqual([video?.source, video?.codec, video?.rids], ['camera', 'video/VP8', ['q', 'h', 'f']]);
    assert.deepEqual([audio?.source, audio?.codec.toLowerCase()], ['microphone', 'audio/opus']);
    assert.ok(seen.participants[0].bytesIn > 0, 'media received from Ada');
    const table = await run('participants', roomId);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`\\n${ada.pid} +\\S+ +video +camera +video/VP8 +q,h,f +no`));
  });

  it('egress commands: usage errors exit 2; a server without egress says how to turn it on (by room id or code)', async () => {
    assert.equal((await run('start-egress', roomId)).code, 2, 'no --kind');
    assert.equal((await run('start-egress', roomId, '--kind', 'gif')).code, 2, 'an unknown kind');
    assert.equal((await run('start-egress', roomId, '--kind', 'hls', '--layer', '7')).code, 2);
    assert.equal((await run('stop-egress', roomId)).code, 2, 'no egress id');
    for (const ref of [roomId, code]) {
      const listed = await run('egress', ref);
      assert.equal(listed.code, 1, ref);
      assert.match(listed.stderr, /EGRESS_ENABLED=true/);
    }
    const started = await run('start-egress', code, '--kind', 'recording', '--participant', ada.pid);
    assert.equal(started.code, 1);
    assert.match(started.stderr, /EGRESS_ENABLED=true/);
    const unknownRoom = await run('egress', 'no-such-code');
    assert.equal(unknownRoom.code, 1);
    assert.match(unknownRoom.stderr, /404/);
  });

  it('mute: Ada’s client and the room get room.audio_enabled false; the SFU stops forwarding her audio', async () => {
    const toAda = nextEvent(ada.socket, 'room.audio_enabled', 10_000);
    const toBob = nextEvent(bob.socket, 'room.audio_enabled', 10_000);
    const r = await run('mute', code, ada.pid, '--audio');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await toAda, { participantId: ada.pid, isEnabled: false });
    assert.deepEqual(await toBob, { participantId: ada.pid, isEnabled: false });
    const tracks = (await json('participants', roomId)).participants[0].tracks as Json[];
    assert.deepEqual(tracks.map((t) => [t.kind, t.muted]).sort(), [
      ['audio', true],
      ['video', false],
    ]);
  });

  it('update-participant: the room gets room.participant_metadata and the listing shows it', async () => {
    const metadata = '{"seat":2}';
    const toCy = nextEvent(cy.socket, 'room.participant_metadata', 10_000);
    const r = await run('update-participant', roomId, bob.pid, '--metadata', metadata);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await toCy, { participantId: bob.pid, metadata });
    const listed = await json('participants', roomId);
    assert.equal(listed.participants.find((p: Json) => p.id === bob.pid)?.metadata, metadata);
    assert.equal((await run('update-participant', roomId, bob.pid, '--metadata', '{oops')).code, 1);
  });

  it('remove-participant: Ada’s client is told, the room sees her leave, her media is gone', async () => {
    const removed = nextEvent<{ event: string }>(ada.socket, 'system.error', 10_000);
    const left = nextEvent(bob.socket, 'room.participant_left', 10_000);
    const r = await run('remove-participant', roomId, ada.pid);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await removed).event, 'room.removed');
    assert.deepEqual(await left, { targetId: ada.pid });
    const listed = await json('participants', roomId);
    assert.deepEqual(
      listed.participants.map((p: Json) => [p.id, p.tracks.length]),
      [
        [bob.pid, 0],
        [cy.pid, 0],
      ],
    );
    const dump = await server.sfu.dump();
    assert.equal(
      dump.rooms.find((x) => String(x.roomId) === roomId),
      undefined,
      'no media left in the SFU',
    );
  });

  it('end-room: everyone is told and removed; the room is empty and no longer listed as live', async () => {
    const told = [bob, cy].map((p) => nextEvent<{ event: string }>(p.socket, 'system.error', 10_000));
    const r = await run('end-room', code);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 participant\(s\) removed/);
    for (const t of told) assert.equal((await t).event, 'room.removed');
    assert.deepEqual((await json('participants', roomId)).participants, []);
    assert.equal(
      (await json('rooms')).rooms.some((x: Json) => String(x.id) === roomId),
      false,
    );
  });
});
