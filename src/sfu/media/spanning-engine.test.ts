import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { joinRequest } from '../../../test/support/join-request.ts';
import { settle, twoEngines } from '../../../test/support/media-engines.ts';
import { sdpFixture } from '../../../test/support/sdp-fixtures.ts';
import { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { SfuEvent } from '../../protocol/sfu-api.ts';
import type { UdpEndpoint } from '../../transport/udp-endpoint.ts';
import type { MediaEngine } from './media-engine.ts';
import type { RelayedPublisher } from './relay.ts';

const ROOM = RoomId('span');
const ALICE = ParticipantId('alice');
const BOB = ParticipantId('bob');
const CAROL = ParticipantId('carol');

/**
 * Two media engines as two workers would run them (here in one thread, each on its own UDP port,
 * joined by a real MessageChannel): the control side of a room spanning them, without media.
 */
describe('MediaEngine: a room spanning two engines', () => {
  const events: Array<{ engine: number; event: SfuEvent }> = [];
  let engines: MediaEngine[];
  let endpoints: UdpEndpoint[];

  before(async () => {
    ({ engines, endpoints } = await twoEngines((engine, event) => events.push({ engine, event })));
  });
  after(async () => {
    for (const engine of engines) await engine.close();
  });

  const room = (engine: number) => engines[engine]!.dump().rooms.find((r) => r.roomId === ROOM);

  /** Bob (engine 1) subscribes to Alice (engine 0) as the pool does it. */
  async function subscribeAcross(subscriber: ParticipantId) {
    const publisher = (await engines[0]!.run('exportPublisher', {
      roomId: ROOM,
      participantId: ALICE,
    })) as RelayedPublisher;
    return (await engines[1]!.run('subscribe', {
      roomId: ROOM,
      participantId: subscriber,
      targetId: ALICE,
      remote: { fromWorker: 0, publisher },
    })) as { offer: string; videoCodec: string };
  }

  it('a subscriber on the other engine gets an offer of the publisher’s tracks; one relay per track serves all subscribers there', async () => {
    await engines[0]!.run('join', joinRequest(ROOM, ALICE, sdpFixture('publisher-single')));
    const res = await subscribeAcross(BOB);
    assert.equal(res.videoCodec, 'video/VP8');
    assert.equal((res.offer.match(/^m=(audio|video)/gm) ?? []).length, 2, 'audio and video offered');
    await subscribeAcross(CAROL);
    await settle(() => room(0)?.relays === 2 && room(1)?.downTracks === 4);
    assert.equal(room(0)!.relays, 2, 'one relay per track to engine 1, shared by Bob and Carol');
    assert.equal(room(0)!.downTracks, 0, 'relays are not down tracks');
    assert.equal(room(1)!.remoteTracks, 2);
    assert.equal(room(1)!.downTracks, 4);
    assert.equal(room(1)!.subscriptions, 2);
    assert.equal(room(1)!.publishers, 0, 'the proxy is not a publisher of engine 1');
  });

  it('tracks the publisher adds reach the other engine, whose subscribers get a new offer', async () => {
    events.length = 0;
    await engines[0]!.run('renegotiatePublisher', {
      roomId: ROOM,
      participantId: ALICE,
      sdp: sdpFixture('publisher-screenshare-renegotiation'),
    });
    await settle(
      () => events.filter((e) => e.event.type === 'subscriberOffer').length >= 2 && room(1)?.downTracks === 6,
    );
    const offers = events.filter((e) => e.event.type === 'subscriberOffer');
    assert.deepEqual(
      offers.map((e) => [e.engine, e.event.type === 'subscriberOffer' ? e.event.participantId : '']).sort(),
      [
        [1, BOB],
        [1, CAROL],
      ],
    );
    const sdp = offers[0]!.event.type === 'subscriberOffer' ? offers[0]!.event.sdp : '';
    assert.equal((sdp.match(/^m=video/gm) ?? []).length, 2, 'the screen track is offered');
    assert.equal(room(0)!.relays, 3);
    assert.equal(room(1)!.remoteTracks, 3);
    assert.equal(room(1)!.downTracks, 6);
  });

  it('the relay stops when the last subscriber there leaves', async () => {
    await engines[1]!.run('leave', { roomId: ROOM, participantId: BOB });
    await settle(() => room(1)?.subscriptions === 1);
    assert.equal(room(0)!.relays, 3, 'Carol still needs it');
    await engines[1]!.run('leave', { roomId: ROOM, participantId: CAROL });
    await settle(() => room(1) === undefined && room(0)?.relays === 0);
    assert.equal(room(1), undefined, 'no proxy left on engine 1');
    assert.equal(room(0)!.relays, 0);
  });

  it('the publisher leaving tears its proxies down on the other engine', async () => {
    await subscribeAcross(BOB);
    await settle(() => room(0)?.relays === 3);
    assert.equal(room(0)!.relays, 3);
    await engines[0]!.run('leave', { roomId: ROOM, participantId: ALICE });
    await settle(() => room(0) === undefined && room(1) === undefined);
    assert.equal(room(0), undefined);
    assert.equal(room(1), undefined, 'Bob’s subscription to Alice and the proxy went with her');
    assert.equal(endpoints[0]!.transportCount + endpoints[1]!.transportCount, 0);
  });

  it('a publisher described before it published again is refused by the want; the stale proxy goes', async () => {
    const join = (sdp: string) => engines[0]!.run('join', joinRequest(ROOM, ALICE, sdpFixture(sdp)));
    await join('publisher-single');
    const stale = (await engines[0]!.run('exportPublisher', {
      roomId: ROOM,
      participantId: ALICE,
    })) as RelayedPublisher;
    await join('publisher-single');
    await engines[1]!.run('subscribe', {
      roomId: ROOM,
      participantId: BOB,
      targetId: ALICE,
      remote: { fromWorker: 0, publisher: stale },
    });
    await settle(() => room(1) === undefined);
    assert.equal(room(1), undefined, 'the stale proxy and its subscription were dropped');
    assert.equal(room(0)!.relays, 0);
    await subscribeAcross(BOB);
    await settle(() => room(0)?.relays === 2);
    assert.equal(room(0)!.relays, 2, 'a fresh description works');
  });

  it('a peer going down drops the relays to it and the proxies from it, without touching the rest', async () => {
    engines[0]!.peerDown(1);
    engines[1]!.peerDown(0);
    assert.equal(room(0)!.relays, 0);
    assert.equal(room(0)!.publishers, 1, 'Alice still publishes on engine 0');
    assert.equal(room(1), undefined, 'Bob’s subscription to the lost engine’s publisher went');
    await assert.rejects(subscribeAcross(BOB), (e: Error & { code?: string }) => e.code === 'unavailable');
    await engines[0]!.run('leave', { roomId: ROOM, participantId: ALICE });
    assert.deepEqual(engines[0]!.dump().rooms, []);
    assert.equal(endpoints[0]!.transportCount + endpoints[1]!.transportCount, 0);
  });
});
