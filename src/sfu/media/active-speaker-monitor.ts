import type { Clock } from '../../lib/clock.ts';
import type { ParticipantId } from '../../lib/ids.ts';
import {
  type ActiveSpeaker,
  ActiveSpeakerDetector,
  type ActiveSpeakerOptions,
  type AudioLevelMeter,
} from './active-speaker.ts';
import type { Publisher } from './publisher.ts';

/**
 * A room's active-speaker detection: every `intervalMs` it gives each publisher an audio level
 * meter (if it has none yet), closes the meters' windows and reports a changed speaker list.
 *
 * Lifecycle: created with the room → close() when the room goes.
 */
export class ActiveSpeakerMonitor {
  readonly #detector: ActiveSpeakerDetector;
  readonly #stop: () => void;

  constructor(options: {
    clock: Clock;
    publishers: () => Iterable<Publisher>;
    onChange: (speakers: ActiveSpeaker[]) => void;
    detector?: ActiveSpeakerOptions;
  }) {
    const detector = new ActiveSpeakerDetector(options.detector);
    this.#detector = detector;
    this.#stop = options.clock.setInterval(() => {
      const meters: Array<[ParticipantId, AudioLevelMeter]> = [];
      for (const publisher of options.publishers()) {
        publisher.audioLevelMeter ??= detector.createMeter();
        meters.push([publisher.participantId, publisher.audioLevelMeter]);
      }
      const changed = detector.evaluate(meters, options.clock.nowMs());
      if (changed) options.onChange(changed);
    }, detector.intervalMs);
  }

  get speakers(): readonly ActiveSpeaker[] {
    return this.#detector.speakers;
  }

  close(): void {
    this.#stop();
  }
}
