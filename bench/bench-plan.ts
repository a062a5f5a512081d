// What a bench run measures, from its options: the media steps in their order, and the signalling
// scenario's settings. Neither depends on --profile: the profiled passes (bench/profile-pass.ts)
// come after these and repeat some of them.

import type { CoreSplit } from './multicore-plan.ts';
import type { Options } from './options.ts';
import type { SignallingOptions } from './signalling-step.ts';
import type { StepOptions } from './step-types.ts';

/** A media step of the run: what runStep takes, less what the run adds (cores, progress, media). */
export interface MediaStep {
  kind: 'fanout' | 'raw' | 'werift' | 'tcp' | 'meeting' | 'audio';
  options: Omit<StepOptions, 'progress' | 'serverCores' | 'loadCores'>;
}

/** The signalling scenario's settings, less its progress callback and profile directory. */
export type SignallingRun = Omit<SignallingOptions, 'progress' | 'profileDir'>;

/** The measured media steps in the order they run. */
export function mediaSteps(o: Options): MediaStep[] {
  const steps: MediaStep[] = [];
  const base = {
    fanout: o.fanout,
    speakers: o.speakers,
    warmupSeconds: o.warmup,
    seconds: o.duration,
    sampleEvery: 8,
  };
  if (o.scenarios.includes('fanout')) {
    const largest = Math.max(...o.fanoutSizes);
    for (const size of o.fanoutSizes)
      steps.push({ kind: 'fanout', options: { ...base, system: 'bbmeet', scenario: 'fanout', size } });
    if (o.raw)
      for (const size of o.quick ? [largest] : o.fanoutSizes)
        steps.push({ kind: 'raw', options: { ...base, system: 'raw_udp', scenario: 'fanout', size } });
    if (o.werift)
      steps.push({
        kind: 'werift',
        options: { ...base, system: 'werift', scenario: 'fanout', size: Math.min(o.weriftSubs, largest) },
      });
    // Last of the fan-out steps: its size, the headline's, is known once the others ran (0 till then).
    if (o.tcp)
      steps.push({ kind: 'tcp', options: { ...base, system: 'bbmeet_tcp', scenario: 'fanout', size: 0 } });
  }
  if (o.scenarios.includes('meeting'))
    for (const size of o.meetingSizes)
      steps.push({ kind: 'meeting', options: { ...base, system: 'bbmeet', scenario: 'meeting', size } });
  if (o.scenarios.includes('audio'))
    for (const size of o.audioSizes)
      steps.push({ kind: 'audio', options: { ...base, system: 'bbmeet', scenario: 'audio', size } });
  return steps;
}

/** The measured signalling scenario's settings (five windows; with --quick each a few seconds). */
export function signallingRun(
  o: Options,
  cores: Pick<CoreSplit, 'serverCores' | 'loadCores'>,
): SignallingRun {
  return {
    ...o.signalling,
    joinRooms: o.signalling.rooms,
    chatRooms: o.signalling.rooms,
    serverCores: cores.serverCores,
    loadCores: cores.loadCores,
    warmupSeconds: o.quick ? Math.min(o.warmup, 0.5) : o.warmup,
    seconds: o.quick ? Math.min(o.duration, 2) : o.duration,
  };
}
