import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ParticipantId } from '../../lib/ids.ts';
import type { NegotiatedDataChannels } from '../../transport/negotiation/index.ts';
import { DataChannelRelay, type DataRoom, envelope, parseQualityRequest } from './data-channels.ts';
import type { Publisher } from './publisher.ts';
import type { Subscription } from './subscription.ts';

/** A channel the peer opened (or ours): records what the relay sends on it. */
class FakeChannel {
  readonly sent: Array<Buffer | string> = [];
  state = 'open';
  onOpen: (() => void) | null = null;
  onMessage: ((data: Buffer | string) => void) | null = null;
  readonly label: string;
  constructor(label: string) {
    this.label = label;
  }
  send(data: Buffer | string): boolean {
    this.sent.push(data);
    return true;
  }
}

/** A transport whose SCTP association hands the relay the channels a test opens with `open`. */
function fakeTransport() {
  const channels = new Map<string, FakeChannel>();
  const association = {
    onDataChannel: null as ((channel: FakeChannel) => void) | null,
    createDataChannel: (label: string) => {
      const channel = new FakeChannel(label);
      channels.set(label, channel);
      return channel;
    },
    channel: (label: string) => channels.get(label),
  };
  let enabled = false;
  return {
    get dataChannels() {
      return enabled ? association : undefined;
    },
    enableDataChannels: () => {
      enabled = true;
      return association;
    },
    /** The peer opens `label`: the relay starts listening to it. */
    open(label: string): FakeChannel {
      const channel = new FakeChannel(label);
      channels.set(label, channel);
      association.onDataChannel?.(channel);
      return channel;
    },
  };
}

const NEGOTIATED = {} as NegotiatedDataChannels;

function fakePublisher(id: string, canPublishData: boolean) {
  const transport = fakeTransport();
  const publisher = { participantId: id as ParticipantId, transport, canPublishData, onLayersWanted: null };
  return { publisher: publisher as unknown as Publisher, transport };
}

describe('data channel messages', () => {
  it('track_quality requests: UTF-8 JSON {trackId, quality 0-3}, binary or string; anything else is refused', () => {
    const ok = { trackId: 'video-1', quality: 1 };
    assert.deepEqual(parseQualityRequest(Buffer.from(JSON.stringify(ok))), ok);
    assert.deepEqual(parseQualityRequest(JSON.stringify({ ...ok, quality: 0, extra: true })), {
      trackId: 'video-1',
      quality: 0,
    });
    const bad: Array<Buffer | string> = [
      '',
      'not json',
      'null',
      '[1]',
      '{"trackId":"v"}',
      '{"trackId":"v","quality":null}',
      '{"trackId":"v","quality":4}',
      '{"trackId":"v","quality":1.5}',
      '{"trackId":"v","quality":"1"}',
      '{"trackId":"","quality":1}',
      '{"trackId":7,"quality":1}',
      JSON.stringify({ trackId: 'x'.repeat(300), quality: 1 }),
      JSON.stringify({ trackId: 'v', quality: 1, pad: 'x'.repeat(2000) }),
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    ];
    for (const m of bad) assert.equal(parseQualityRequest(m), undefined, String(m));
  });

  it('relay envelope: strings as {"from","data"} JSON, binary as [1][id length][id][payload]', () => {
    const from = '42' as ParticipantId;
    assert.deepEqual(JSON.parse(envelope(from, 'hi') as string), { from: '42', data: 'hi' });
    const out = envelope(from, Buffer.from([9, 8, 7])) as Buffer;
    assert.deepEqual([...out], [1, 2, 0x34, 0x32, 9, 8, 7]);
    assert.deepEqual([...(envelope(from, Buffer.alloc(0)) as Buffer)], [1, 2, 0x34, 0x32]);
    assert.equal(envelope('x'.repeat(256) as ParticipantId, Buffer.alloc(1)), undefined);
  });

  it("canPublishData=false: the participant's room data messages are dropped and counted, the others' still relayed to it", () => {
    const relay = new DataChannelRelay();
    const muted = fakePublisher('1', false);
    const speaker = fakePublisher('2', true);
    const room: DataRoom = {
      publishers: new Map([
        ['1' as ParticipantId, muted.publisher],
        ['2' as ParticipantId, speaker.publisher],
      ]),
      subscriptions: new Map(),
    };
    relay.attachPublisher(room, muted.publisher, NEGOTIATED);
    relay.attachPublisher(room, speaker.publisher, NEGOTIATED);
    const mutedReliable = muted.transport.open('bbmeet-data');
    const mutedLossy = muted.transport.open('bbmeet-data-lossy');
    const speakerReliable = speaker.transport.open('bbmeet-data');
    speaker.transport.open('bbmeet-data-lossy');
    mutedReliable.onMessage?.('not heard');
    mutedLossy.onMessage?.(Buffer.from([1, 2, 3]));
    assert.equal(speakerReliable.sent.length, 0, 'nothing of the muted participant relayed');
    assert.equal(relay.stats.refused, 2);
    speakerReliable.onMessage?.('heard');
    assert.deepEqual(mutedReliable.sent, [JSON.stringify({ from: '2', data: 'heard' })]);
    assert.equal(relay.stats.relayed, 1);
  });

  it('canPublishData=false on a subscriber connection: room data refused, track_quality requests still served', () => {
    const relay = new DataChannelRelay();
    const speaker = fakePublisher('2', true);
    const transport = fakeTransport();
    const wanted: Array<[string, number]> = [];
    const subscription = {
      subscriberId: '3' as ParticipantId,
      targetId: '2' as ParticipantId,
      transport,
      canPublishData: false,
      setPreferredQuality: (trackId: string, quality: number) => wanted.push([trackId, quality]),
    } as unknown as Subscription;
    const room: DataRoom = {
      publishers: new Map([['2' as ParticipantId, speaker.publisher]]),
      subscriptions: new Map([['3>2', { subscription }]]),
    };
    relay.attachPublisher(room, speaker.publisher, NEGOTIATED);
    const speakerReliable = speaker.transport.open('bbmeet-data');
    relay.attachSubscription(room, subscription, NEGOTIATED);
    transport.open('bbmeet-data').onMessage?.('not heard');
    transport.open('track_quality').onMessage?.(JSON.stringify({ trackId: 'video-1', quality: 2 }));
    assert.equal(speakerReliable.sent.length, 0);
    assert.equal(relay.stats.refused, 1);
    assert.deepEqual(wanted, [['video-1', 2]]);
    assert.equal(relay.stats.qualityRequests, 1);
  });
});
