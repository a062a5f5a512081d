import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ParticipantId, RoomId, UserId } from '../lib/ids.ts';
import { silentLogger } from '../lib/logger.ts';
import type { WebhookEventInput } from '../protocol/webhook-events.ts';
import { openStore, ParticipantStatus, type Store } from '../store/index.ts';
import type { LocalTransportParameters } from '../transport/media-transport.ts';
import { createPublisherAnswer, parseRemoteDescription } from '../transport/negotiation/index.ts';
import { ConnectionType, defaultMediaState, type ParticipantEntry } from './participant-directory.ts';
import { WebhookReporter } from './webhook-reporter.ts';

/** One signalling instance: its reporter, the participants it holds, and what it emitted. */
function instance(store: Store, clustered: boolean) {
  const held = new Set<string>();
  const events: WebhookEventInput[] = [];
  const reporter = new WebhookReporter({
    emitter: { emit: (e) => events.push(e) },
    store,
    clustered,
    localIds: () => new Set(held),
    logger: silentLogger(),
  });
  return { held, events, reporter, names: () => events.map((e) => e.event) };
}

async function roomWith(store: Store, names: string[]) {
  const room = await store.rooms.create({
    title: 'Standup',
    passwordHash: null,
    avatar: null,
    code: 'abc-defg-hij',
    type: 0,
  });
  const entries: ParticipantEntry[] = [];
  for (const name of names) {
    const user = await store.users.create({ fullName: name, externalId: `ext-${name}`, userName: name });
    const row = await store.participants.create({ roomId: room.id, userId: user.id });
    entries.push({
      participantId: ParticipantId(row.id),
      roomId: RoomId(room.id),
      userId: UserId(user.id),
      socketId: `socket-${name}`,
      connectionType: ConnectionType.SFU,
      mediaState: defaultMediaState(),
      p2pOffer: null,
    });
  }
  return { room, entries };
}

const LOCAL: LocalTransportParameters = {
  iceUfrag: 'srvU',
  icePwd: 'server-password-0123456789',
  iceLite: true,
  fingerprint: { algorithm: 'sha-256', value: 'AB:'.repeat(31).concat('AB') },
  candidates: [],
};

describe('WebhookReporter', () => {
  it('one process: room started, joined, tracks published once ready, unpublished before the leave, room finished', async () => {
    const store = await openStore({ sqlitePath: ':memory:' });
    try {
      const { room, entries } = await roomWith(store, ['ada', 'bob']);
      const [ada, bob] = entries as [ParticipantEntry, ParticipantEntry];
      const one = instance(store, false);
      one.reporter.joined(ada);
      one.reporter.joined(bob);
      one.reporter.joined(ada);
      const offer = readFileSync(
        new URL('../../test/fixtures/sdp/publisher-single.sdp', import.meta.url),
        'utf8',
      );
      one.reporter.negotiated(ada, offer, createPublisherAnswer(parseRemoteDescription(offer), LOCAL).sdp);
      await one.reporter.idle();
      assert.deepEqual(
        one.names(),
        ['room_started', 'participant_joined', 'participant_joined'],
        'tracks wait for publisherReady',
      );
      one.reporter.ready(ada);
      one.reporter.left(ada, 'left');
      one.reporter.left(bob, 'disconnected');
      await one.reporter.idle();
      assert.deepEqual(one.names(), [
        'room_started',
        'participant_joined',
        'participant_joined',
        'track_published',
        'track_published',
        'track_unpublished',
        'track_unpublished',
        'participant_left',
        'participant_left',
        'room_finished',
      ]);
      const joined = one.events[1] as Extract<WebhookEventInput, { event: 'participant_joined' }>;
      assert.deepEqual(joined.room, { id: String(room.id), code: 'abc-defg-hij', title: 'Standup' });
      assert.deepEqual(joined.participant, {
        id: ada.participantId,
        userId: ada.userId,
        name: 'ada',
        hidden: false,
      });
      const video = one.events[4] as Extract<WebhookEventInput, { track: unknown }>;
      assert.deepEqual(video.track, {
        kind: 'video',
        source: 'camera',
        trackId: 'afbc3dfd-6486-4b04-8fe9-670b001889cc',
        mid: '1',
        codec: 'video/VP8',
      });
      const left = one.events.slice(7, 9).map((e) => (e as { reason: string }).reason);
      assert.deepEqual(left, ['left', 'disconnected']);
    } finally {
      await store.close();
    }
  });

  it('cluster: the instance of the first join starts the room, the instance of the last leave finishes it, each once', async () => {
    const store = await openStore({ sqlitePath: ':memory:' });
    try {
      const { entries } = await roomWith(store, ['ada', 'bob']);
      const [ada, bob] = entries as [ParticipantEntry, ParticipantEntry];
      const first = instance(store, true);
      const second = instance(store, true);
      // What SignallingContext.attach does: the row is taken by a socket, then the instance holds it.
      const attach = async (where: typeof first, entry: ParticipantEntry) => {
        await store.participants.markAttached(Number(entry.participantId));
        where.held.add(entry.participantId);
        where.reporter.joined(entry);
        await where.reporter.idle();
      };
      await attach(first, ada);
      await attach(second, bob);
      assert.deepEqual(first.names(), ['room_started', 'participant_joined']);
      assert.deepEqual(second.names(), ['participant_joined'], 'ada is live on the other instance');

      first.held.delete(ada.participantId);
      await store.participants.setStatus(Number(ada.participantId), ParticipantStatus.Inactive);
      first.reporter.left(ada, 'disconnected');
      await first.reporter.idle();
      assert.deepEqual(
        first.names(),
        ['room_started', 'participant_joined', 'participant_left'],
        'bob is still in',
      );

      second.held.delete(bob.participantId);
      await store.participants.delete(Number(bob.participantId));
      second.reporter.left(bob, 'left');
      await second.reporter.idle();
      assert.deepEqual(second.names(), ['participant_joined', 'participant_left', 'room_finished']);
    } finally {
      await store.close();
    }
  });
  it('egress: started once (starting, then active), ended once; renegotiated tracks come and go at once when ready', async () => {
    const store = await openStore({ sqlitePath: ':memory:' });
    try {
      const { entries } = await roomWith(store, ['ada']);
      const [ada] = entries as [ParticipantEntry];
      const one = instance(store, false);
      one.reporter.joined(ada);
      const info = {
        egressId: 'eg-1',
        roomId: ada.roomId,
        kind: 'recording' as const,
        participantId: null,
        state: 'starting' as const,
        startedAt: 1,
        endedAt: null,
        reason: null,
        playlist: null,
        files: [],
        moqPath: null,
        nodeId: 'node-1',
        baseUrl: null,
      };
      for (const state of ['starting', 'active', 'ending', 'ended', 'ended'] as const)
        one.reporter.egress(ada.roomId, { ...info, state, reason: state === 'ended' ? 'stopped' : null });
      const fixture = (name: string) =>
        readFileSync(new URL(`../../test/fixtures/sdp/${name}.sdp`, import.meta.url), 'utf8');
      const answer = (sdp: string) => createPublisherAnswer(parseRemoteDescription(sdp), LOCAL).sdp;
      const single = fixture('publisher-simulcast');
      const share = fixture('publisher-screenshare-renegotiation');
      one.reporter.negotiated(ada, single, answer(single));
      one.reporter.ready(ada);
      ada.mediaState.screenTrackId = 'dc911575-89c9-4f69-81ee-6b467c727628';
      one.reporter.renegotiated(ada, share, answer(share));
      one.reporter.renegotiated(ada, single, answer(single));
      await one.reporter.idle();
      assert.deepEqual(one.names().slice(0, 4), [
        'room_started',
        'participant_joined',
        'egress_started',
        'egress_ended',
      ]);
      const ended = one.events[3] as Extract<WebhookEventInput, { egress: unknown }>;
      assert.deepEqual(ended.egress, {
        egressId: 'eg-1',
        kind: 'recording',
        participantId: null,
        state: 'ended',
        startedAt: 1,
        endedAt: null,
        reason: 'stopped',
        playlist: null,
        files: [],
        nodeId: 'node-1',
      });
      const tracks = one.events
        .slice(4)
        .map((e) => [e.event, (e as Extract<WebhookEventInput, { track: unknown }>).track.source]);
      assert.deepEqual(tracks, [
        ['track_published', 'microphone'],
        ['track_published', 'camera'],
        ['track_published', 'screen_share'],
        ['track_unpublished', 'screen_share'],
      ]);
    } finally {
      await store.close();
    }
  });
});
