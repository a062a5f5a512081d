import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzParser } from '../../test/fuzz/byte-fuzz.ts';
import { corpusSeeds } from '../../test/fuzz/corpus.ts';
import {
  type DependencyDescriptor,
  type DependencyStructure,
  readDependencyDescriptor,
} from './dependency-descriptor.ts';

/**
 * Fuzz target: the AV1 dependency descriptor, read alone and against the structure of a captured
 * keyframe (as UpTrack reads it). Malformed input reads as undefined, never throws. `FUZZ_RUNS`
 * raises the number of inputs.
 */

const DEFAULT_RUNS = 3000;
const SEEDS = corpusSeeds('dependency-descriptor');
const LATEST = SEEDS.map((s) => readDependencyDescriptor(s, 0, s.length, undefined)?.attachedStructure).find(
  (s) => s !== undefined,
);

function checkStructure(s: DependencyStructure): void {
  assert.ok(s.templateCount >= 1 && s.templateCount <= 64);
  assert.ok(s.decodeTargetCount >= 1 && s.decodeTargetCount <= 32);
  assert.equal(s.templateDti.length, s.templateCount * s.decodeTargetCount);
  assert.equal(s.templateFdiffs.length, s.templateCount);
  assert.ok(s.chainCount <= s.decodeTargetCount);
  assert.equal(s.templateChainFdiff.length, s.templateCount * s.chainCount);
  for (const chain of s.decodeTargetProtectedBy) assert.ok(chain < s.chainCount);
  for (const id of s.templateSpatialId) assert.ok(id <= s.maxSpatialId);
  for (const id of s.templateTemporalId) assert.ok(id <= s.maxTemporalId);
  if (s.resolutions) assert.equal(s.resolutions.length, s.maxSpatialId + 1);
}

/** The known structure is shared, not retained by a read: it is left out of the retained estimate. */
type Read = DependencyDescriptor & { readAgainstLatest: boolean };

function read(bytes: Uint8Array, latest: DependencyStructure | undefined): Read | undefined {
  const d = readDependencyDescriptor(bytes, 0, bytes.length, latest);
  if (!d) return undefined;
  const againstLatest = latest !== undefined && d.structure === latest;
  return { ...d, structure: againstLatest ? undefined : d.structure, readAgainstLatest: againstLatest };
}

function checkDescriptor(bytes: Uint8Array, read: Read): void {
  const d = { ...read, structure: read.readAgainstLatest ? LATEST : read.structure };
  assert.ok(d.templateId < 64 && d.frameNumber < 65_536);
  if (d.attachedStructure) checkStructure(d.attachedStructure);
  // Each custom frame diff takes at least 6 bits of the input.
  assert.ok(d.frameFdiffs.length <= (bytes.length * 8) / 2);
  if (!d.structure) return;
  assert.ok(d.spatialId >= 0 && d.spatialId <= d.structure.maxSpatialId);
  assert.ok(d.temporalId >= 0 && d.temporalId <= d.structure.maxTemporalId);
}

describe('dependency descriptor fuzz target', () => {
  it('random, mutated and truncated descriptors read consistently, alone and against a known structure, or as undefined', () => {
    assert.ok(LATEST, 'the corpus holds a descriptor with a structure');
    fuzzParser(
      {
        parse: (bytes) => [read(bytes, undefined), read(bytes, LATEST)],
        isCleanError: () => false,
        // A few bytes can describe 64 templates, each with its arrays: the spec bounds a structure
        // (64 templates × 32 decode targets, ~48 KB estimated per read) and a track keeps one.
        retainedAllowanceBytes: 96 * 1024,
        check(bytes, results) {
          for (const d of results) if (d) checkDescriptor(bytes, d);
        },
      },
      { seeds: SEEDS, defaultRuns: DEFAULT_RUNS },
    );
  });
});
