import { egressDisabled, SfuError } from '../lib/errors.ts';
import type { SfuApi } from '../protocol/sfu-api.ts';

const MESSAGE = 'media engine unavailable: this server build forwards no media (SFU mode); use P2P mode';

function fail(): never {
  throw new SfuError('unavailable', MESSAGE);
}

/**
 * An SfuApi for servers without a media engine: every media operation fails with a clear
 * 'unavailable' error (never a fake SDP). Events: none; dump: empty.
 */
export function unavailableSfu(): SfuApi {
  return {
    join: async () => fail(),
    subscribe: async () => fail(),
    setSubscriberAnswer: async () => fail(),
    renegotiatePublisher: async () => fail(),
    addPublisherCandidate: async () => fail(),
    addSubscriberCandidate: async () => fail(),
    setMediaState: async () => undefined,
    leave: async () => undefined,
    inspectRoom: async () => fail(),
    async *events(_roomId, signal) {
      if (signal.aborted) return;
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    },
    startEgress: async () => {
      throw egressDisabled();
    },
    stopEgress: async () => {
      throw egressDisabled();
    },
    listEgress: async () => {
      throw egressDisabled();
    },
    dump: async () => ({
      rooms: [],
      transports: 0,
      dropped: { malformed: 0, unknownAddress: 0, unknownUsername: 0 },
    }),
  };
}
