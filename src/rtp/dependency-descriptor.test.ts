import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DecodeTargetIndication,
  type DependencyStructure,
  newDependencyDescriptor,
  readDependencyDescriptor,
} from './dependency-descriptor.ts';

/** MSB-first bit writer for hand-made descriptors. */
class Bits {
  readonly #bits: number[] = [];
  put(value: number, n: number): this {
    for (let i = n - 1; i >= 0; i--) this.#bits.push(Math.floor(value / 2 ** i) % 2);
    return this;
  }
  /** ns(n) of A.7, the writer's side. */
  ns(value: number, n: number): this {
    let w = 0;
    for (let x = n; x !== 0; x >>= 1) w++;
    const m = (1 << w) - n;
    if (value < m) return this.put(value, w - 1);
    const v = value + m;
    return this.put(v >> 1, w - 1).put(v & 1, 1);
  }
  bytes(): Buffer {
    const out = Buffer.alloc(Math.ceil(this.#bits.length / 8));
    this.#bits.forEach((b, i) => {
      if (b) out[i >> 3]! |= 0x80 >> (i & 7);
    });
    return out;
  }
}

function mandatory(w: Bits, start: boolean, end: boolean, templateId: number, frameNumber: number): Bits {
  return w
    .put(start ? 1 : 0, 1)
    .put(end ? 1 : 0, 1)
    .put(templateId, 6)
    .put(frameNumber, 16);
}

/**
 * L2T2: templates (S0,T0) (S0,T1) (S1,T0) (S1,T1), 4 decode targets (S0T0, S0T1, S1T0, S1T1),
 * 2 chains (one per spatial layer), resolutions 320x180 and 640x360. Template id offset 5.
 */
function writeL2T2Structure(w: Bits): Bits {
  w.put(5, 6); // template_id_offset
  w.put(3, 5); // dt_cnt_minus_one → 4 decode targets
  // template_layers: after (0,0) next temporal; after (0,1) next spatial; after (1,0) temporal; end.
  w.put(1, 2).put(2, 2).put(1, 2).put(3, 2);
  // template_dtis: [template][dt], S = 2, R = 3, D = 1, - = 0
  const dtis = [
    [2, 2, 2, 2], // S0T0: switch for all
    [0, 1, 0, 1], // S0T1: discardable in the T1 targets
    [0, 0, 2, 2], // S1T0
    [0, 0, 0, 1], // S1T1
  ];
  for (const row of dtis) for (const d of row) w.put(d, 2);
  // template_fdiffs: S0T0 → [2], S0T1 → [1], S1T0 → [1, 2], S1T1 → []
  const fdiffs = [[2], [1], [1, 2], []];
  for (const list of fdiffs) {
    for (const f of list) w.put(1, 1).put(f - 1, 4);
    w.put(0, 1);
  }
  // template_chains: 2 chains; DT0,1 by chain 0, DT2,3 by chain 1; chain fdiffs per template.
  w.ns(2, 5);
  for (const c of [0, 0, 1, 1]) w.ns(c, 2);
  const chainFdiffs = [
    [2, 1],
    [1, 2],
    [1, 2],
    [3, 1],
  ];
  for (const row of chainFdiffs) for (const f of row) w.put(f, 4);
  // resolutions
  w.put(1, 1).put(319, 16).put(179, 16).put(639, 16).put(359, 16);
  return w;
}

/** A keyframe's descriptor: template id 5 (= index 0), structure attached. */
function keyframeDescriptor(): Buffer {
  const w = mandatory(new Bits(), true, false, 5, 100);
  w.put(1, 1).put(0, 1).put(0, 1).put(0, 1).put(0, 1); // structure present, nothing else
  return writeL2T2Structure(w).bytes();
}

function structureOf(): DependencyStructure {
  const buf = keyframeDescriptor();
  const dd = readDependencyDescriptor(buf, 0, buf.length, undefined);
  assert.ok(dd?.attachedStructure);
  return dd.attachedStructure;
}

describe('readDependencyDescriptor', () => {
  it('reads the mandatory fields of a 3-byte descriptor without a structure', () => {
    // start 1, end 0, template 0x2a, frame number 0xbeef
    const buf = Buffer.from([0b1010_1010, 0xbe, 0xef]);
    const dd = readDependencyDescriptor(buf, 0, 3, undefined);
    assert.ok(dd);
    assert.equal(dd.startOfFrame, true);
    assert.equal(dd.endOfFrame, false);
    assert.equal(dd.templateId, 0x2a);
    assert.equal(dd.frameNumber, 0xbeef);
    assert.equal(dd.structure, undefined);
    assert.equal(dd.spatialId, -1);
    assert.equal(dd.temporalId, -1);
  });

  it('reads a template dependency structure: layers, DTIs, fdiffs, chains, decode targets, resolutions', () => {
    const buf = keyframeDescriptor();
    const dd = readDependencyDescriptor(buf, 0, buf.length, undefined);
    assert.ok(dd);
    assert.equal(dd.frameNumber, 100);
    const s = dd.attachedStructure;
    assert.ok(s);
    assert.equal(dd.structure, s);
    assert.equal(s.templateIdOffset, 5);
    assert.equal(s.decodeTargetCount, 4);
    assert.equal(s.templateCount, 4);
    assert.deepEqual([...s.templateSpatialId], [0, 0, 1, 1]);
    assert.deepEqual([...s.templateTemporalId], [0, 1, 0, 1]);
    assert.deepEqual([...s.templateDti], [2, 2, 2, 2, 0, 1, 0, 1, 0, 0, 2, 2, 0, 0, 0, 1]);
    assert.deepEqual(s.templateFdiffs, [[2], [1], [1, 2], []]);
    assert.equal(s.chainCount, 2);
    assert.deepEqual([...s.decodeTargetProtectedBy], [0, 0, 1, 1]);
    assert.deepEqual([...s.templateChainFdiff], [2, 1, 1, 2, 1, 2, 3, 1]);
    assert.deepEqual([...s.decodeTargetSpatialId], [0, 0, 1, 1]);
    assert.deepEqual([...s.decodeTargetMaxTemporalId], [0, 1, 0, 1]);
    assert.equal(s.maxSpatialId, 1);
    assert.equal(s.maxTemporalId, 1);
    assert.deepEqual(s.resolutions, [
      { width: 320, height: 180 },
      { width: 640, height: 360 },
    ]);
    // The frame itself: template index 0.
    assert.equal(dd.spatialId, 0);
    assert.equal(dd.temporalId, 0);
    assert.equal(dd.activeDecodeTargets, 0b1111);
    assert.deepEqual([...dd.frameDti.subarray(0, 4)], [2, 2, 2, 2]);
    assert.deepEqual(dd.frameFdiffs, [2]);
    assert.deepEqual([...dd.frameChainFdiff.subarray(0, 2)], [2, 1]);
  });

  it('reads a later frame against the latest structure (template id offset wraps modulo 64)', () => {
    const s = structureOf();
    const buf = mandatory(new Bits(), false, true, 8, 101).bytes(); // 8 - 5 = index 3: S1T1
    const dd = readDependencyDescriptor(buf, 0, buf.length, s);
    assert.ok(dd);
    assert.equal(dd.endOfFrame, true);
    assert.equal(dd.spatialId, 1);
    assert.equal(dd.temporalId, 1);
    assert.equal(dd.frameDti[3], DecodeTargetIndication.Discardable);
    assert.equal(dd.attachedStructure, undefined);
    assert.equal(dd.structure, s);
    // A template id outside the structure's range.
    const out = mandatory(new Bits(), true, true, 4, 1).bytes(); // (4 + 64 - 5) % 64 = 63 ≥ 4
    assert.equal(readDependencyDescriptor(out, 0, out.length, s), undefined);
  });

  it('reads the active decode targets and the frame dependency overrides', () => {
    const s = structureOf();
    const w = mandatory(new Bits(), true, true, 7, 102); // index 2: S1T0
    w.put(0, 1).put(1, 1).put(1, 1).put(1, 1).put(1, 1); // active DTs, custom dtis, fdiffs, chains
    w.put(0b0011, 4); // only the S0 targets are active
    w.put(3, 2).put(3, 2).put(1, 2).put(0, 2); // custom DTIs
    w.put(1, 2).put(0, 4); // fdiff 1 (4 bits)
    w.put(2, 2).put(199, 8); // fdiff 200 (8 bits)
    w.put(0, 2); // end of fdiffs
    w.put(7, 8).put(255, 8); // chain fdiffs
    const buf = w.bytes();
    const dd = readDependencyDescriptor(buf, 0, buf.length, s);
    assert.ok(dd);
    assert.equal(dd.activeDecodeTargets, 0b0011);
    assert.equal(dd.spatialId, 1);
    assert.equal(dd.temporalId, 0);
    assert.deepEqual([...dd.frameDti.subarray(0, 4)], [3, 3, 1, 0]);
    assert.deepEqual(dd.frameFdiffs, [1, 200]);
    assert.deepEqual([...dd.frameChainFdiff.subarray(0, 2)], [7, 255]);
    assert.equal(dd.customDtis && dd.customFdiffs && dd.customChains, true);
  });

  it('reads at an offset inside a packet and reuses the output object', () => {
    const s = structureOf();
    const dd = mandatory(new Bits(), true, false, 6, 7).bytes(); // index 1: S0T1
    const packet = Buffer.concat([Buffer.from([0xff, 0xff]), dd, Buffer.from([0xff])]);
    const out = newDependencyDescriptor();
    assert.equal(readDependencyDescriptor(packet, 2, dd.length, s, out), out);
    assert.equal(out.temporalId, 1);
    assert.equal(out.frameNumber, 7);
  });

  it('reads malformed and truncated descriptors as undefined, never throwing', () => {
    const s = structureOf();
    const key = keyframeDescriptor();
    // Every truncation of a keyframe descriptor fails (but 3 bytes: the mandatory fields alone).
    for (let n = 0; n < key.length; n++) {
      if (n === 3) continue;
      assert.equal(readDependencyDescriptor(key, 0, n, undefined), undefined, `length ${n}`);
    }
    // Out-of-range regions.
    assert.equal(readDependencyDescriptor(key, key.length - 2, 3, undefined), undefined);
    assert.equal(readDependencyDescriptor(key, -1, 3, undefined), undefined);
    assert.equal(readDependencyDescriptor(key, 0.5, 3, undefined), undefined);
    // Active decode targets or custom fields without any structure known.
    const active = mandatory(new Bits(), true, true, 0, 1).put(0b01000, 5).put(0, 3).bytes();
    assert.equal(readDependencyDescriptor(active, 0, active.length, undefined), undefined);
    const custom = mandatory(new Bits(), true, true, 0, 1).put(0b00100, 5).put(0, 3).bytes();
    assert.equal(readDependencyDescriptor(custom, 0, custom.length, undefined), undefined);
    // Custom fdiffs that never end within the descriptor.
    const endless = mandatory(new Bits(), true, true, 5, 1).put(0b00010, 5).put(0b01_0000_01, 8).put(0, 3);
    const e = endless.bytes();
    assert.equal(readDependencyDescriptor(e, 0, e.length, s), undefined);
    // More than 64 templates: next_layer_idc never 3.
    const many = mandatory(new Bits(), true, true, 0, 1).put(0b10000, 5).put(0, 6).put(0, 5);
    for (let i = 0; i < 70; i++) many.put(0, 2);
    const m = many.bytes();
    assert.equal(readDependencyDescriptor(m, 0, m.length, undefined), undefined);
    // Random bytes: no throw.
    let seed = 1;
    const random = Buffer.alloc(64);
    for (let round = 0; round < 2000; round++) {
      for (let i = 0; i < random.length; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        random[i] = seed >>> 24;
      }
      const len = 3 + (round % 60);
      readDependencyDescriptor(random, 0, len, round % 2 ? s : undefined);
    }
  });
});
