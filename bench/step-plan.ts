// Who takes part in a step: the rooms provisioned on the BBMEET server (or the ids the raw and
// werift forwarders use), each participant's publications and subscriptions, per scenario.

import type { LoadParticipant } from './load-process.ts';
import { provisionRoom } from './provision.ts';
import type { LayerWish } from './quality-request.ts';
import type { WaterbusIdentity } from './signal.ts';
import { isBbmeet, type StepOptions } from './step-types.ts';

export interface StepPlan {
  publishers: LoadParticipant[];
  subscribers: LoadParticipant[];
  /** Everyone in one load process (the meeting: each participant publishes and subscribes). */
  together: boolean;
  participants: number;
  firstRoom?: { roomId: string; code: string; publisherId: string };
}

function fanoutRooms(size: number, fanout: number): number[] {
  const per = fanout > 0 ? fanout : size;
  const rooms: number[] = [];
  for (let left = size; left > 0; left -= per) rooms.push(Math.min(per, left));
  return rooms;
}

/**
 * A provisioned room of one video publisher (its first participant) and the others subscribing to
 * it, asking for `layer` when given; added to `publishers` and `subscribers`.
 */
function onePublisherRoom(
  participants: WaterbusIdentity[],
  publishers: LoadParticipant[],
  subscribers: LoadParticipant[],
  layer?: LayerWish,
): WaterbusIdentity {
  const [pub, ...rest] = participants;
  publishers.push({
    id: pub!.participantId,
    identity: pub!,
    publish: { video: true, audio: false },
    subscribeTo: [],
  });
  for (const s of rest)
    subscribers.push({ id: s.participantId, identity: s, subscribeTo: [pub!.participantId], layer });
  return pub!;
}

export async function planStep(
  o: StepOptions,
  server?: { baseUrl: string; apiKey: string },
): Promise<StepPlan> {
  const publishers: LoadParticipant[] = [];
  const subscribers: LoadParticipant[] = [];
  if (o.scenario === 'fanout') {
    const rooms = fanoutRooms(o.size, o.fanout);
    let firstRoom: StepPlan['firstRoom'];
    for (const [r, subs] of rooms.entries()) {
      if (isBbmeet(o.system)) {
        const room = await provisionRoom(server!.baseUrl, server!.apiKey, subs + 1);
        const pub = onePublisherRoom(room.participants, publishers, subscribers);
        firstRoom ??= { roomId: room.roomId, code: room.code, publisherId: pub.participantId };
      } else {
        const pubId = o.system === 'raw_udp' ? String(r) : `p${r}`;
        publishers.push({ id: pubId, publish: { video: true, audio: false }, subscribeTo: [] });
        for (let i = 0; i < subs; i++) subscribers.push({ id: `s${r}-${i}`, subscribeTo: [pubId] });
      }
    }
    return { publishers, subscribers, together: false, participants: rooms.length + o.size, firstRoom };
  }
  if (!isBbmeet(o.system)) throw new Error(`the ${o.scenario} scenario runs on bbmeet only`);
  if (o.scenario === 'webinar') {
    const room = await provisionRoom(server!.baseUrl, server!.apiKey, o.size + 1);
    onePublisherRoom(room.participants, publishers, subscribers, o.layer);
    return { publishers, subscribers, together: false, participants: o.size + 1 };
  }
  if (o.scenario === 'meeting') {
    const room = await provisionRoom(server!.baseUrl, server!.apiKey, o.size);
    const ids = room.participants.map((p) => p.participantId);
    for (const p of room.participants)
      publishers.push({
        id: p.participantId,
        identity: p,
        publish: { video: true, audio: true },
        subscribeTo: ids.filter((id) => id !== p.participantId),
        layer: o.layer,
      });
    return { publishers, subscribers, together: true, participants: o.size };
  }
  const room = await provisionRoom(server!.baseUrl, server!.apiKey, o.speakers + o.size);
  const speakers = room.participants.slice(0, o.speakers);
  for (const p of speakers)
    publishers.push({
      id: p.participantId,
      identity: p,
      publish: { video: false, audio: true },
      subscribeTo: [],
    });
  for (const p of room.participants.slice(o.speakers))
    subscribers.push({ id: p.participantId, identity: p, subscribeTo: speakers.map((s) => s.participantId) });
  return { publishers, subscribers, together: false, participants: o.speakers + o.size };
}
