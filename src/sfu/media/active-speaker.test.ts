import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { ParticipantId } from '../../lib/ids.ts';
import { type ActiveSpeaker, ActiveSpeakerDetector, type AudioLevelMeter } from './active-speaker.ts';

const A = ParticipantId('1');
const B = ParticipantId('2');
const C = ParticipantId('3');

/** A room of three meters fed 20 ms packets at chosen levels, evaluated every 400 ms. */
function room() {
  const clock = new ManualClock();
  const detector = new ActiveSpeakerDetector();
  const meters = new Map<ParticipantId, AudioLevelMeter>([
    [A, detector.createMeter()],
    [B, detector.createMeter()],
    [C, detector.createMeter()],
  ]);
  const levels = new Map<ParticipantId, number>([
    [A, 127],
    [B, 127],
    [C, 127],
  ]);
  const reports: Array<{ atMs: number; speakers: ActiveSpeaker[] }> = [];
  const start = clock.nowMs();
  clock.setInterval(() => {
    for (const [id, meter] of meters) meter.observe(levels.get(id)!);
  }, 20);
  clock.setInterval(() => {
    const changed = detector.evaluate(meters, clock.nowMs());
    if (changed) reports.push({ atMs: clock.nowMs() - start, speakers: changed });
  }, detector.intervalMs);
  const ids = () => reports.at(-1)?.speakers.map((s) => s.participantId) ?? [];
  return { clock, detector, meters, levels, reports, ids };
}

describe('ActiveSpeakerDetector', () => {
  it('names a participant talking at -20 dBov within a second, the silent ones never', () => {
    const r = room();
    r.levels.set(A, 20);
    r.clock.advance(1000);
    assert.deepEqual(r.ids(), [A]);
    assert.ok(r.reports[0]!.atMs <= 800, `first report at ${r.reports[0]!.atMs} ms`);
    assert.ok(r.reports[0]!.speakers[0]!.level > 0.01 && r.reports[0]!.speakers[0]!.level <= 0.1);
    r.clock.advance(5000);
    assert.equal(r.reports.length, 1, 'a steady speaker is reported once');
  });

  it('ignores short clicks and quiet noise (threshold and active share)', () => {
    const r = room();
    // B: a 20 ms click every 500 ms; C: constant noise at -60 dBov.
    r.levels.set(C, 60);
    r.clock.setInterval(() => {
      r.levels.set(B, 10);
      r.clock.setTimeout(() => r.levels.set(B, 127), 20);
    }, 500);
    r.clock.advance(10_000);
    assert.deepEqual(r.reports, []);
  });

  it('keeps a speaker through a short pause (hysteresis) and drops it after the release time', () => {
    const r = room();
    r.levels.set(A, 20);
    r.clock.advance(2000);
    assert.deepEqual(r.ids(), [A]);
    r.levels.set(A, 127);
    r.clock.advance(400);
    assert.deepEqual(r.ids(), [A], 'still speaking after a 400 ms pause');
    r.levels.set(A, 20);
    r.clock.advance(1000);
    assert.equal(r.reports.length, 1);
    r.levels.set(A, 127);
    r.clock.advance(2000);
    assert.deepEqual(r.ids(), [], 'silent for 2 s: nobody speaks');
    const dropped = r.reports.at(-1)!.atMs;
    assert.ok(dropped - 3400 <= 2000, `dropped ${dropped - 3400} ms after the speech stopped`);
  });

  it('orders by level, the louder first; a new louder speaker takes the lead, a slightly louder one does not', () => {
    const r = room();
    r.levels.set(A, 30);
    r.clock.advance(2000);
    r.levels.set(B, 10);
    r.clock.advance(2000);
    assert.deepEqual(r.ids(), [B, A]);
    // C is only a little louder than B: B stays first.
    r.levels.set(C, 9);
    r.clock.advance(2000);
    assert.deepEqual(r.ids(), [B, C, A]);
  });

  it('hands over: the speaker mutes, another one starts', () => {
    const r = room();
    r.levels.set(A, 20);
    r.clock.advance(2000);
    r.levels.set(A, 127);
    r.levels.set(B, 20);
    r.clock.advance(3000);
    assert.deepEqual(r.ids(), [B]);
    const sequence = r.reports.map((x) => x.speakers.map((s) => s.participantId).join(','));
    assert.deepEqual(sequence.at(0), '1');
    assert.ok(sequence.includes('2'));
  });

  it('reports at most once per 400 ms even when evaluated more often', () => {
    const clock = new ManualClock();
    const detector = new ActiveSpeakerDetector({ intervalMs: 100, smoothIntervals: 1, releaseMs: 100 });
    const meter = detector.createMeter();
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      meter.observe(i % 2 === 0 ? 10 : 127);
      if (i % 2 === 0) meter.observe(10);
      clock.advance(100);
      // Alternating loud and silent windows would flap every 100 ms.
      if (i % 2 === 1) meter.reset();
      if (detector.evaluate([[A, meter]], clock.nowMs())) times.push(clock.nowMs());
    }
    assert.ok(times.length >= 2);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 400);
  });

  it('forgets a participant that is gone, and reports the change', () => {
    const r = room();
    r.levels.set(A, 20);
    r.clock.advance(2000);
    r.meters.delete(A);
    r.clock.advance(400);
    assert.deepEqual(r.ids(), []);
  });
});
