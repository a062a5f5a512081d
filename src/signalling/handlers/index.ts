import type { EventHandler } from './handler.ts';
import { leave, reconnect, subscribeSubtitle } from './lifecycle.ts';
import { subscribeHlsLiveStream } from './live-stream.ts';
import { mediaStateHandlers } from './media-state.ts';
import { publisherCandidate, publisherRenegotiation, subscriberCandidate } from './negotiation.ts';
import { migrate, publish } from './publish.ts';
import { answerSubscriber, subscribe } from './subscribe.ts';

export type { EventHandler } from './handler.ts';

/** Every client → server event the server understands, by name. */
export const eventHandlers: ReadonlyMap<string, EventHandler> = new Map(
  [
    publish,
    migrate,
    subscribe,
    answerSubscriber,
    publisherRenegotiation,
    publisherCandidate,
    subscriberCandidate,
    ...mediaStateHandlers,
    leave,
    reconnect,
    subscribeSubtitle,
    subscribeHlsLiveStream,
  ].map((h) => [h.event, h]),
);
