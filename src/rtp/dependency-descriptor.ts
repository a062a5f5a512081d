/**
 * AV1 dependency descriptor RTP header extension (AOMedia "RTP Payload Format For AV1", Appendix A):
 * a bounds-checked reader. The mandatory fields (start/end of frame, template id, frame number),
 * the template dependency structure when present (templates with spatial and temporal ids, DTIs,
 * frame diffs, chains, decode targets, resolutions), the active decode targets bitmask and the
 * frame dependency overrides (custom DTIs, frame diffs, chain diffs).
 *
 * A structure is allocated only when a descriptor carries one (keyframes); the per-packet fields
 * are written into a reusable object. Malformed or truncated input reads as undefined, never throws.
 *
 * URI (as the spec and Chromium's extmap name it):
 * https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension
 */

export const DEPENDENCY_DESCRIPTOR_URI =
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension';

/** Decode target indications (A.8.3): what a frame is to a decode target. */
export const DecodeTargetIndication = {
  NotPresent: 0,
  Discardable: 1,
  Switch: 2,
  Required: 3,
} as const;

/** Spec limits: 64 templates (6-bit ids), 32 decode targets (5-bit count), chains ≤ decode targets. */
const MAX_TEMPLATES = 64;
const MAX_DECODE_TARGETS = 32;

/** The template dependency structure (A.8.2), kept per publisher track until the next one comes. */
export interface DependencyStructure {
  templateIdOffset: number;
  decodeTargetCount: number;
  templateCount: number;
  /** Per template. */
  templateSpatialId: Uint8Array;
  templateTemporalId: Uint8Array;
  /** DTI of template t for decode target d at [t * decodeTargetCount + d]. */
  templateDti: Uint8Array;
  /** Frame diffs (1–16) of each template. */
  templateFdiffs: number[][];
  chainCount: number;
  /** Per decode target: the chain protecting it (empty when chainCount = 0). */
  decodeTargetProtectedBy: Uint8Array;
  /** Chain diff of template t for chain c at [t * chainCount + c]. */
  templateChainFdiff: Uint8Array;
  /** Per decode target: the highest spatial and temporal id of the frames it decodes. */
  decodeTargetSpatialId: Uint8Array;
  decodeTargetMaxTemporalId: Uint8Array;
  maxSpatialId: number;
  maxTemporalId: number;
  /** Render resolution per spatial id, when present. */
  resolutions: Array<{ width: number; height: number }> | undefined;
}

/** One packet's descriptor. Reused by the caller; valid until the next read into it. */
export interface DependencyDescriptor {
  startOfFrame: boolean;
  endOfFrame: boolean;
  templateId: number;
  frameNumber: number;
  /** The structure this packet carries (new), else undefined. */
  attachedStructure: DependencyStructure | undefined;
  /** The structure the frame was read against (attached or the latest known), else undefined. */
  structure: DependencyStructure | undefined;
  /** Active decode targets (bit d = target d), when the packet says; all of a new structure's. */
  activeDecodeTargets: number | undefined;
  /** From the frame's template; -1 when no structure is known (mandatory fields only). */
  spatialId: number;
  temporalId: number;
  /** The frame's DTIs (template's or custom), decodeTargetCount of them. */
  frameDti: Uint8Array;
  /** The frame's frame diffs (template's or custom). */
  frameFdiffs: number[];
  /** The frame's chain diffs (template's or custom), chainCount of them. */
  frameChainFdiff: Uint8Array;
  customDtis: boolean;
  customFdiffs: boolean;
  customChains: boolean;
}

export function newDependencyDescriptor(): DependencyDescriptor {
  return {
    startOfFrame: false,
    endOfFrame: false,
    templateId: 0,
    frameNumber: 0,
    attachedStructure: undefined,
    structure: undefined,
    activeDecodeTargets: undefined,
    spatialId: -1,
    temporalId: -1,
    frameDti: new Uint8Array(MAX_DECODE_TARGETS),
    frameFdiffs: [],
    frameChainFdiff: new Uint8Array(MAX_DECODE_TARGETS),
    customDtis: false,
    customFdiffs: false,
    customChains: false,
  };
}

// Bit reader over buf[start, start + length): module state, as reads never interleave.
let BUF: Uint8Array = new Uint8Array(0);
let BIT = 0;
let END_BIT = 0;
/** Set when a read ran past the end; the values read then are zeros. */
let OVERRUN = false;

function bits(n: number): number {
  if (BIT + n > END_BIT) {
    OVERRUN = true;
    BIT = END_BIT;
    return 0;
  }
  let v = 0;
  for (let i = 0; i < n; i++) {
    const b = BIT + i;
    v = v * 2 + ((BUF[b >> 3]! >> (7 - (b & 7))) & 1);
  }
  BIT += n;
  return v;
}

/** ns(n): non-symmetric unsigned value below n (A.7). */
function ns(n: number): number {
  let w = 0;
  for (let x = n; x !== 0; x >>= 1) w++;
  const m = (1 << w) - n;
  const v = bits(w - 1);
  if (v < m) return v;
  return (v << 1) - m + bits(1);
}

/**
 * Reads the descriptor at buf[offset, offset + length) into `out` (a new one when omitted).
 * `latest` is the structure last received on this track: a descriptor without its own structure
 * is read against it. Returns undefined when malformed or truncated, or when the frame's template
 * (or active decode targets) needs a structure that is not known; when no structure is known and
 * none is needed, the mandatory fields are read and spatialId/temporalId are -1.
 */
export function readDependencyDescriptor(
  buf: Uint8Array,
  offset: number,
  length: number,
  latest: DependencyStructure | undefined,
  out: DependencyDescriptor = newDependencyDescriptor(),
): DependencyDescriptor | undefined {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 3) return undefined;
  if (offset + length > buf.length) return undefined;
  BUF = buf;
  BIT = offset * 8;
  END_BIT = (offset + length) * 8;
  OVERRUN = false;
  out.startOfFrame = bits(1) === 1;
  out.endOfFrame = bits(1) === 1;
  out.templateId = bits(6);
  out.frameNumber = bits(16);
  out.attachedStructure = undefined;
  out.activeDecodeTargets = undefined;
  out.customDtis = false;
  out.customFdiffs = false;
  out.customChains = false;
  out.spatialId = -1;
  out.temporalId = -1;
  out.frameFdiffs.length = 0;
  let structure = latest;
  if (length > 3) {
    const structurePresent = bits(1) === 1;
    const activePresent = bits(1) === 1;
    out.customDtis = bits(1) === 1;
    out.customFdiffs = bits(1) === 1;
    out.customChains = bits(1) === 1;
    if (structurePresent) {
      const s = readStructure();
      if (!s) return done(undefined);
      structure = s;
      out.attachedStructure = s;
      out.activeDecodeTargets = s.decodeTargetCount === 32 ? 0xffffffff : (1 << s.decodeTargetCount) - 1;
    }
    if (activePresent) {
      if (!structure) return done(undefined);
      out.activeDecodeTargets = bits(structure.decodeTargetCount) >>> 0;
    }
  }
  out.structure = structure;
  if (!structure) {
    // Mandatory fields only: nothing else can be read without a structure.
    if (out.customDtis || out.customFdiffs || out.customChains) return done(undefined);
    return done(OVERRUN ? undefined : out);
  }
  const t = (out.templateId + MAX_TEMPLATES - structure.templateIdOffset) % MAX_TEMPLATES;
  if (t >= structure.templateCount) return done(undefined);
  out.spatialId = structure.templateSpatialId[t]!;
  out.temporalId = structure.templateTemporalId[t]!;
  const dtCount = structure.decodeTargetCount;
  if (out.customDtis) for (let d = 0; d < dtCount; d++) out.frameDti[d] = bits(2);
  else for (let d = 0; d < dtCount; d++) out.frameDti[d] = structure.templateDti[t * dtCount + d]!;
  if (out.customFdiffs) {
    for (let size = bits(2); size !== 0 && !OVERRUN; size = bits(2)) out.frameFdiffs.push(bits(4 * size) + 1);
  } else {
    const fdiffs = structure.templateFdiffs[t]!;
    for (let i = 0; i < fdiffs.length; i++) out.frameFdiffs.push(fdiffs[i]!);
  }
  const chains = structure.chainCount;
  if (out.customChains) for (let c = 0; c < chains; c++) out.frameChainFdiff[c] = bits(8);
  else
    for (let c = 0; c < chains; c++) out.frameChainFdiff[c] = structure.templateChainFdiff[t * chains + c]!;
  return done(OVERRUN ? undefined : out);
}

function done<T>(value: T): T {
  BUF = EMPTY;
  return value;
}

const EMPTY = new Uint8Array(0);

/** template_dependency_structure() (A.7), or undefined when malformed or truncated. */
function readStructure(): DependencyStructure | undefined {
  const templateIdOffset = bits(6);
  const decodeTargetCount = bits(5) + 1;
  // template_layers()
  const spatial: number[] = [];
  const temporal: number[] = [];
  let spatialId = 0;
  let temporalId = 0;
  let maxTemporalId = 0;
  for (;;) {
    if (spatial.length >= MAX_TEMPLATES) return undefined;
    spatial.push(spatialId);
    temporal.push(temporalId);
    const next = bits(2);
    if (OVERRUN) return undefined;
    if (next === 3) break;
    if (next === 1) {
      temporalId++;
      if (temporalId > maxTemporalId) maxTemporalId = temporalId;
    } else if (next === 2) {
      temporalId = 0;
      spatialId++;
    }
  }
  const templateCount = spatial.length;
  // template_dtis()
  const templateDti = new Uint8Array(templateCount * decodeTargetCount);
  for (let i = 0; i < templateDti.length; i++) templateDti[i] = bits(2);
  // template_fdiffs()
  const templateFdiffs: number[][] = [];
  for (let t = 0; t < templateCount; t++) {
    const fdiffs: number[] = [];
    while (bits(1) === 1 && !OVERRUN) fdiffs.push(bits(4) + 1);
    templateFdiffs.push(fdiffs);
  }
  // template_chains()
  const chainCount = ns(decodeTargetCount + 1);
  const decodeTargetProtectedBy = new Uint8Array(chainCount === 0 ? 0 : decodeTargetCount);
  const templateChainFdiff = new Uint8Array(templateCount * chainCount);
  if (chainCount > 0) {
    for (let d = 0; d < decodeTargetCount; d++) decodeTargetProtectedBy[d] = ns(chainCount);
    for (let i = 0; i < templateChainFdiff.length; i++) templateChainFdiff[i] = bits(4);
  }
  // decode_target_layers()
  const decodeTargetSpatialId = new Uint8Array(decodeTargetCount);
  const decodeTargetMaxTemporalId = new Uint8Array(decodeTargetCount);
  for (let d = 0; d < decodeTargetCount; d++) {
    let s = 0;
    let tid = 0;
    for (let t = 0; t < templateCount; t++) {
      if (templateDti[t * decodeTargetCount + d] === DecodeTargetIndication.NotPresent) continue;
      if (spatial[t]! > s) s = spatial[t]!;
      if (temporal[t]! > tid) tid = temporal[t]!;
    }
    decodeTargetSpatialId[d] = s;
    decodeTargetMaxTemporalId[d] = tid;
  }
  // render_resolutions()
  let resolutions: Array<{ width: number; height: number }> | undefined;
  if (bits(1) === 1) {
    resolutions = [];
    for (let s = 0; s <= spatialId; s++) resolutions.push({ width: bits(16) + 1, height: bits(16) + 1 });
  }
  if (OVERRUN) return undefined;
  return {
    templateIdOffset,
    decodeTargetCount,
    templateCount,
    templateSpatialId: Uint8Array.from(spatial),
    templateTemporalId: Uint8Array.from(temporal),
    templateDti,
    templateFdiffs,
    chainCount,
    decodeTargetProtectedBy,
    templateChainFdiff,
    decodeTargetSpatialId,
    decodeTargetMaxTemporalId,
    maxSpatialId: spatialId,
    maxTemporalId,
    resolutions,
  };
}
