import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { fuzzRuns } from './byte-fuzz.ts';

/**
 * Structure-aware arbitraries for payload fuzzing (socket.io events, REST bodies): JSON-like values
 * of any shape, values at the edges (-0, NaN as a string, 2^53, ids beyond int32, lone surrogates,
 * prototype keys), huge strings and deep nesting, and mutations of real payloads that change one
 * field at a time so that a rejection can be checked to name that field.
 *
 * `FUZZ_RUNS` sets the number of runs (see `fuzzRuns`), `FUZZ_SEED` replays a failure.
 */

export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

const EDGE_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  -1.5,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53),
  1e21,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
];

const EDGE_STRINGS = [
  '',
  ' ',
  '0',
  '-0',
  '-1',
  '1.5',
  '1e3',
  '0x10',
  '00012',
  ' 12',
  '12 ',
  'NaN',
  'Infinity',
  '-Infinity',
  '2147483648',
  '9007199254740993',
  '99999999999999999999',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '\u0000',
  '\uD800',
  '\uFEFF1',
  '١٢٣',
  '💥',
  '../../etc/passwd',
  '%00',
  ...PROTOTYPE_KEYS,
];

export interface EdgeOptions {
  /** The transport carries non-JSON values (msgpack): NaN, ±Infinity, binary, dates. */
  binary?: boolean;
}

/** One value at an edge of some type. */
export function edgeValue(options: EdgeOptions = {}): fc.Arbitrary<unknown> {
  const extra: unknown[] = options.binary
    ? [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Buffer.from([0, 1, 2]), new Date(0)]
    : [];
  return fc.oneof(
    fc.constantFrom<unknown>(...EDGE_NUMBERS, ...EDGE_STRINGS, true, false, null, [], {}, ...extra),
    fc.integer(),
    fc.double({ noNaN: !options.binary, noDefaultInfinity: !options.binary }),
    fc.string({ unit: 'binary', maxLength: 24 }),
  );
}

/** A string of `min`..`max` characters (one repeated unit: ASCII, a multi-byte char or a surrogate pair). */
export function hugeString(min: number, max: number): fc.Arbitrary<string> {
  return fc
    .tuple(fc.integer({ min, max }), fc.constantFrom('x', 'é', '€', '💥', '\u0000'))
    .map(([n, unit]) => unit.repeat(Math.max(1, Math.floor(n / unit.length))));
}

/** Arrays or objects nested `depth` deep, up to `maxDepth`. */
export function deepNesting(maxDepth: number): fc.Arbitrary<unknown> {
  return fc.tuple(fc.integer({ min: 1, max: maxDepth }), fc.boolean()).map(([depth, arrays]) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = arrays ? [value] : { a: value };
    return value;
  });
}

/** An object with these entries as own properties (`__proto__` included, as JSON.parse makes it). */
function objectOf(entries: Array<[string, unknown]>): Record<string, unknown> {
  return Object.fromEntries(entries);
}

/** Any JSON-like value: edges at the leaves, arrays and objects (prototype keys too) above. */
export function jsonLike(options: EdgeOptions = {}): fc.Arbitrary<unknown> {
  const key = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 12 }));
  const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      edgeValue(options),
      fc.array(tie('tree'), { maxLength: 5 }),
      fc.array(fc.tuple(key, tie('tree')), { maxLength: 5 }).map(objectOf),
    ),
  }));
  return tree;
}

/** A payload and, when one field was changed, its path (as the server names it: `a.b`). */
export interface Fuzzed {
  value: unknown;
  /** The path of the one field given a wrong value; undefined when the whole payload changed. */
  field?: string;
  kind: string;
}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Paths of every field of `value`, nested objects included (`candidate.sdpMid`). */
function fieldPaths(value: Plain, prefix: string[] = []): string[][] {
  return Object.entries(value).flatMap(([k, v]) => {
    const here = [...prefix, k];
    return isPlain(v) ? [here, ...fieldPaths(v, here)] : [here];
  });
}

function withField(value: Plain, path: string[], replace: (old: unknown) => unknown | typeof REMOVE): Plain {
  const [head, ...rest] = path as [string, ...string[]];
  const entries = Object.entries(value).flatMap(([k, v]): Array<[string, unknown]> => {
    if (k !== head) return [[k, v]];
    const next = rest.length === 0 ? replace(v) : withField(v as Plain, rest, replace);
    return next === REMOVE ? [] : [[k, next]];
  });
  return objectOf(entries);
}

const REMOVE = Symbol('remove');

export interface MutationOptions extends EdgeOptions {
  /** Longest string to splice into a field (keep it within the transport's size limit). */
  maxStringChars: number;
  /** Deepest nesting to splice into a field. */
  maxDepth: number;
}

/** Seed payloads changed in one field (wrong type, edge value, huge, deep, removed) or as a whole. */
export function mutatedPayload(seed: unknown, options: MutationOptions): fc.Arbitrary<Fuzzed> {
  const replacement = fc.oneof(
    { arbitrary: edgeValue(options), weight: 4 },
    { arbitrary: jsonLike(options), weight: 2 },
    { arbitrary: hugeString(1, options.maxStringChars), weight: 1 },
    { arbitrary: deepNesting(options.maxDepth), weight: 1 },
  );
  const whole = fc.oneof(
    replacement.map((value) => ({ value, kind: 'replaced' })),
    fc.constant({ value: seed, kind: 'seed' }),
    fc.constant({ value: [seed], kind: 'wrapped' }),
    fc.constant({ value: undefined, kind: 'absent' }),
  );
  if (!isPlain(seed) || Object.keys(seed).length === 0) return whole;
  const paths = fieldPaths(seed);
  const field = fc.constantFrom(...paths);
  return fc.oneof(
    { arbitrary: whole, weight: 1 },
    {
      weight: 6,
      arbitrary: fc.tuple(field, replacement).map(([path, v]) => ({
        value: withField(seed, path, () => v),
        field: path.join('.'),
        kind: 'field',
      })),
    },
    {
      weight: 1,
      arbitrary: field.map((path) => ({
        value: withField(seed, path, () => REMOVE),
        kind: 'removed',
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...PROTOTYPE_KEYS), jsonLike(options))
        .map(([k, v]) => ({ value: objectOf([...Object.entries(seed), [k, v]]), kind: 'extra-key' })),
    },
  );
}

/** Runs an async property `FUZZ_RUNS` times (default `defaultRuns`), replaying `FUZZ_SEED` when set. */
export async function fuzzAsync<T>(
  arbitrary: fc.Arbitrary<T>,
  check: (input: T) => Promise<void>,
  defaultRuns: number,
): Promise<void> {
  const seed = Number(process.env.FUZZ_SEED);
  await fc.assert(fc.asyncProperty(arbitrary, check), {
    numRuns: fuzzRuns(defaultRuns),
    ...(Number.isInteger(seed) ? { seed } : {}),
  });
}

/** Every `*.json` file of a corpus folder, parsed, by file name. */
export function loadCorpus<T>(dir: URL): Array<{ name: string; entry: T }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((name) => ({ name, entry: JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as T }));
}

/** Replaces `"$name"` strings anywhere in `value` by `values[name]` (ids known only at run time). */
export function fillPlaceholders(value: unknown, values: Record<string, unknown>): unknown {
  if (typeof value === 'string' && value.startsWith('$') && value.slice(1) in values)
    return values[value.slice(1)];
  if (Array.isArray(value)) return value.map((v) => fillPlaceholders(v, values));
  if (isPlain(value))
    return objectOf(Object.entries(value).map(([k, v]) => [k, fillPlaceholders(v, values)]));
  return value;
}
