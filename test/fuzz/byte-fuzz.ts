import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

/**
 * Reusable fuzz harness for byte parsers (socket frames, RTP, RTCP, codec payloads…): random byte
 * strings, mutations and truncations of valid seeds (bytes set, inserted, deleted, 16-bit fields
 * overwritten), headers claiming huge lengths spliced in at random places, and the target's own
 * structure-aware generators. The property every parser must keep: decode or throw a clean error,
 * retain no more than a small multiple of the input, and return promptly.
 *
 * Unit tests run a few thousand inputs; `FUZZ_RUNS` raises that (see the `fuzz:*` npm scripts) and
 * `FUZZ_SEED` replays a failure reported by fast-check.
 */

export interface ParserTarget<T> {
  parse(bytes: Uint8Array): T;
  /** An error the parser means to throw on bad input (not a RangeError from an unchecked read). */
  isCleanError(err: unknown): boolean;
  /** Extra checks on a successful parse, e.g. agreement with a reference implementation. */
  check?(bytes: Uint8Array, value: T): void;
  /** Output size may not exceed `maxRetainedFactor` × input + `retainedAllowanceBytes` (estimated). Default 64. */
  maxRetainedFactor?: number;
  /** The constant part of that budget, for outputs a spec bounds whatever the input. Default 4 KiB. */
  retainedAllowanceBytes?: number;
  /** One input must parse or fail within this. Default 1000 ms (a hang, not a slow machine). */
  maxMsPerInput?: number;
}

export interface FuzzOptions {
  /** Valid inputs to mutate and truncate. */
  seeds: Uint8Array[];
  /** Bytes that start a length field the parser must check; spliced in with random huge lengths. */
  lengthPrefixes?: number[];
  /** Runs when `FUZZ_RUNS` is not set. */
  defaultRuns: number;
  /**
   * Structure-aware generators of the target's own (e.g. packets built field by field with
   * extreme counts and lengths), drawn as often as each of the generic ones.
   */
  structured?: fc.Arbitrary<Uint8Array>[];
}

/**
 * The number of inputs of one property: `FUZZ_RUNS` when set, else `defaultRuns`. With
 * `FUZZ_REPORT` set (scripts/fuzz.mjs does), each property adds a line with its count to that
 * file, so the runner can add up the inputs of a pass.
 */
export function fuzzRuns(defaultRuns: number): number {
  const fromEnv = Number(process.env.FUZZ_RUNS);
  const runs = Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : defaultRuns;
  const report = process.env.FUZZ_REPORT;
  if (report) appendFileSync(report, `${runs}\n`);
  return runs;
}

/** Runs the parser property; fast-check reports the shrunk failing input and its seed. */
export function fuzzParser<T>(target: ParserTarget<T>, options: FuzzOptions): void {
  const seed = Number(process.env.FUZZ_SEED);
  fc.assert(
    fc.property(fuzzBytes(options), (bytes) => checkOne(target, bytes)),
    { numRuns: fuzzRuns(options.defaultRuns), ...(Number.isInteger(seed) ? { seed } : {}) },
  );
}

function checkOne<T>(target: ParserTarget<T>, bytes: Uint8Array): void {
  const start = performance.now();
  let value: T;
  try {
    value = target.parse(bytes);
  } catch (err) {
    assert.ok(target.isCleanError(err), `unclean error: ${String(err)}`);
    assertPrompt(target, start);
    return;
  }
  assertPrompt(target, start);
  const retained = estimateRetainedBytes(value);
  const budget = (target.maxRetainedFactor ?? 64) * bytes.length + (target.retainedAllowanceBytes ?? 4096);
  assert.ok(retained <= budget, `${bytes.length} input bytes retained ~${retained} bytes`);
  target.check?.(bytes, value);
}

function assertPrompt<T>(target: ParserTarget<T>, start: number): void {
  const ms = performance.now() - start;
  assert.ok(ms < (target.maxMsPerInput ?? 1000), `one input took ${ms.toFixed(0)} ms`);
}

/** Random bytes, mutated seeds, truncated seeds and seeds with a huge length claim spliced in. */
export function fuzzBytes(options: FuzzOptions): fc.Arbitrary<Uint8Array> {
  const seed = fc.constantFrom(...options.seeds);
  const prefixes = options.lengthPrefixes ?? [];
  const arbitraries: fc.Arbitrary<Uint8Array>[] = [
    ...(options.structured ?? []),
    fc.uint8Array({ maxLength: 512 }),
    seed.chain((s) => fc.nat(s.length).map((n) => s.subarray(0, n))),
    seed.chain((s) =>
      fc.array(mutation(s.length), { minLength: 1, maxLength: 8 }).map((ms) => applyAll(s, ms)),
    ),
  ];
  if (prefixes.length > 0) {
    const claim = fc.tuple(fc.constantFrom(...prefixes), fc.uint8Array({ minLength: 4, maxLength: 4 }));
    arbitraries.push(
      fc
        .tuple(seed, fc.nat(), claim)
        .map(([s, at, [p, len]]) => splice(s, at % (s.length + 1), 0, Uint8Array.from([p, ...len]))),
    );
  }
  return fc.oneof(...arbitraries);
}

/** `word` overwrites two bytes (big endian) with `byte` repeated: 0x0000, 0xffff, 0x8080… length fields. */
type Mutation = { at: number; kind: 'set' | 'insert' | 'delete' | 'word'; byte: number };

function mutation(maxAt: number): fc.Arbitrary<Mutation> {
  return fc.record({
    at: fc.nat(Math.max(0, maxAt)),
    kind: fc.constantFrom('set' as const, 'insert' as const, 'delete' as const, 'word' as const),
    byte: fc.oneof(fc.constantFrom(0x00, 0x7f, 0x80, 0xc1, 0xff), fc.integer({ min: 0, max: 255 })),
  });
}

function applyAll(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = bytes;
  for (const m of mutations) {
    const at = m.at % (out.length + 1);
    if (m.kind === 'word') {
      if (at + 2 <= out.length) out = splice(out, at, 2, Uint8Array.of(m.byte, m.byte));
    } else if (m.kind === 'insert') out = splice(out, at, 0, Uint8Array.of(m.byte));
    else if (at < out.length)
      out = splice(out, at, 1, m.kind === 'set' ? Uint8Array.of(m.byte) : new Uint8Array(0));
  }
  return out;
}

function splice(bytes: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - remove + insert.length);
  out.set(bytes.subarray(0, at), 0);
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

/** A generous upper estimate of the memory a parsed value holds (V8 headers included roughly). */
export function estimateRetainedBytes(value: unknown, depth = 0): number {
  if (depth > 1000) return Number.POSITIVE_INFINITY;
  if (typeof value === 'string') return 16 + 2 * value.length;
  if (value instanceof ArrayBuffer) return 64 + value.byteLength;
  if (ArrayBuffer.isView(value)) return 96 + value.byteLength;
  if (Array.isArray(value))
    return 32 + value.reduce((n: number, v) => n + 8 + estimateRetainedBytes(v, depth + 1), 0);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).reduce(
      (n, [k, v]) => n + 24 + 2 * k.length + estimateRetainedBytes(v, depth + 1),
      56,
    );
  }
  return 8;
}
