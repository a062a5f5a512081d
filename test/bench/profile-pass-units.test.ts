import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mediaSteps, signallingRun } from '../../bench/bench-plan.ts';
import { HELP, type Options, parseOptions } from '../../bench/options.ts';
import {
  PROFILE_FANOUT_SECONDS,
  PROFILE_SIGNALLING_SECONDS,
  PROFILE_SIGNALLING_WARMUP_SECONDS,
  profileFigures,
  profilePlan,
  profileStepCount,
} from '../../bench/profile-pass.ts';

const cores = { serverCores: '0', loadCores: '1' };
const options = (...argv: string[]) => parseOptions(argv) as Options;

describe('bench --profile: the profiled passes come after the measured steps', () => {
  it('the measured steps and the signalling settings are the same with and without --profile, none profiled', () => {
    for (const argv of [[], ['--quick'], ['--scenario', 'fanout', '--subs', '16,64']]) {
      const plain = options(...argv);
      const profiled = options(...argv, '--profile');
      assert.deepEqual(mediaSteps(profiled), mediaSteps(plain));
      assert.deepEqual(signallingRun(profiled, cores), signallingRun(plain, cores));
      for (const step of mediaSteps(profiled)) assert.equal(step.options.profileDir, undefined);
      assert.equal('profileDir' in signallingRun(profiled, cores), false);
    }
  });

  it('without --profile there is no profiled pass', () => {
    const o = options();
    const plan = profilePlan(o, mediaSteps(o), signallingRun(o, cores));
    assert.deepEqual(plan, {});
    assert.equal(profileStepCount(plan), 0);
  });

  it('repeats the largest BBMEET fan-out step with a shorter window, and the signalling scenario with short windows and no bare route', () => {
    const o = options('--profile');
    const measured = signallingRun(o, cores);
    const plan = profilePlan(o, mediaSteps(o), measured);
    assert.equal(profileStepCount(plan), 2);
    const fanout = plan.fanout!;
    assert.equal(fanout.options.system, 'bbmeet');
    assert.equal(fanout.options.scenario, 'fanout');
    assert.equal(fanout.options.size, 256);
    assert.equal(fanout.options.seconds, PROFILE_FANOUT_SECONDS);
    assert.equal(fanout.options.warmupSeconds, o.warmup);
    assert.match(fanout.pass, /^fanout 256 subscribers \(16 per publisher\)/);
    assert.match(fanout.pass, /separate pass after the measured steps/);
    assert.match(fanout.pass, /no figure comes from it/);
    const signalling = plan.signalling!;
    assert.deepEqual(signalling.options, {
      ...measured,
      seconds: PROFILE_SIGNALLING_SECONDS,
      warmupSeconds: PROFILE_SIGNALLING_WARMUP_SECONDS,
      bareRoute: false,
    });
    assert.match(signalling.pass, /joins, chat, rest_token, rest_join/);
  });

  it('keeps the pass no longer than the measured step (--quick, --duration)', () => {
    const quick = options('--quick', '--profile');
    const plan = profilePlan(quick, mediaSteps(quick), signallingRun(quick, cores));
    assert.equal(plan.fanout?.options.seconds, Math.min(quick.duration, PROFILE_FANOUT_SECONDS));
    assert.equal(plan.fanout?.options.size, 16);
    const short = options('--scenario', 'fanout', '--duration', '2', '--warmup', '0', '--profile');
    const shortPlan = profilePlan(short, mediaSteps(short));
    assert.equal(shortPlan.fanout?.options.seconds, 2);
    assert.equal(shortPlan.fanout?.options.warmupSeconds, 0);
  });

  it('profiles only what the run measures', () => {
    const meeting = options('--scenario', 'meeting', '--profile');
    assert.deepEqual(profilePlan(meeting, mediaSteps(meeting)), {});
    const fanout = options('--scenario', 'fanout', '--profile');
    const plan = profilePlan(fanout, mediaSteps(fanout));
    assert.ok(plan.fanout);
    assert.equal(plan.signalling, undefined);
    const signalling = options('--scenario', 'signalling', '--profile');
    const sPlan = profilePlan(signalling, mediaSteps(signalling), signallingRun(signalling, cores));
    assert.equal(sPlan.fanout, undefined);
    assert.ok(sPlan.signalling);
  });

  it('the summary keys carry the top costs and the pass they came from, null without a pass', () => {
    assert.deepEqual(profileFigures({}), {
      profile_top: null,
      profile_pass: null,
      signalling_profile_top: null,
      signalling_profile_pass: null,
    });
    const costs = {
      threads: 2,
      top: Array.from({ length: 10 }, (_, i) => ({
        function: `f${i}`,
        where: `src/x.ts:${i + 1}`,
        selfPercent: 10 - i / 2,
      })),
    };
    const figures = profileFigures({ fanout: { pass: 'fanout 256 …', costs } });
    assert.equal(figures.profile_pass, 'fanout 256 …');
    assert.equal(figures.profile_top?.length, 8);
    assert.equal(figures.profile_top?.[0], '10.0% f0 src/x.ts:1');
    assert.equal(figures.signalling_profile_top, null);
  });

  it('the help gives the profiled passes their durations', () => {
    assert.match(HELP, new RegExp(`with a ${PROFILE_FANOUT_SECONDS} s window`));
    assert.match(
      HELP,
      new RegExp(
        `${PROFILE_SIGNALLING_SECONDS} s each after ${PROFILE_SIGNALLING_WARMUP_SECONDS} s of warm-up`,
      ),
    );
  });
});
