import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { API_KEY, type Api, type Json, login, type Session, startApi } from '../../test/api/harness.ts';
import {
  type Fuzzed,
  fillPlaceholders,
  fuzzAsync,
  hugeString,
  loadCorpus,
  mutatedPayload,
} from '../../test/fuzz/payload-fuzz.ts';
import { apiRoutes } from './index.ts';
import { guestRoutes } from './routes/guest.ts';

/**
 * Fuzz target: every REST route's body, path parameters and query, driven through the real server
 * (routing, JSON parsing, auth, zod validation, handlers, the in-memory store) with `inject`.
 * Seeds are the Waterbus requests in test/fuzz/corpus/rest-bodies/. `FUZZ_RUNS` raises the number
 * of requests, `FUZZ_SEED` replays a failure.
 */

const DEFAULT_RUNS = 1000;
const CORPUS = new URL('../../test/fuzz/corpus/rest-bodies/', import.meta.url);
/** The harness' body limit is 256 KiB: strings up to 140 000 characters (up to 560 KB in UTF-8) cross it. */
const MUTATION = { maxStringChars: 140_000, maxDepth: 3000 };
const STORAGE = {
  accessKeyId: 'AKIAFUZZ',
  secretAccessKey: 'fuzz-secret',
  bucket: 'avatars',
  region: 'auto',
  endpointUrl: undefined,
  customDomain: undefined,
};

interface RestSeed {
  name: string;
  method: string;
  /** Fastify path with `:name` parameters, under /busapi/v3. */
  path: string;
  auth: 'apiKey' | 'access' | 'refresh' | 'public';
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
}

type Part = 'body' | 'params' | 'query' | 'raw';
type Caller = 'alice' | 'bob' | 'stranger';

interface FuzzRequest {
  seed: RestSeed;
  part: Part;
  fuzzed: Fuzzed;
  caller: Caller;
}

interface World {
  api: Api;
  alice: Session;
  bob: Session;
  seeds: RestSeed[];
}

async function startWorld(): Promise<World> {
  const api = await startApi({
    storage: STORAGE,
    routes: (deps) => [...apiRoutes(deps), ...guestRoutes(deps)],
  });
  const [alice, bob] = [await login(api, 'fuzz-alice'), await login(api, 'fuzz-bob')];
  const create = async (body: Json) => (await api.call('POST', '/rooms', { token: alice.token, body })).body;
  const room = await create({ title: 'Fuzzed', password: 's3cret' });
  const spare = await create({ title: 'Spare' });
  await api.call('POST', `/rooms/${room.id}/members`, { token: alice.token, body: { userId: bob.id } });
  const sent = await api.call('POST', `/chats/${room.id}`, { token: alice.token, body: { data: 'hi' } });
  const values = {
    roomId: String(room.id),
    spareRoomId: String(spare.id),
    code: room.code,
    bobId: bob.id,
    messageId: String(sent.body.id),
  };
  const seeds = loadCorpus<Omit<RestSeed, 'name'>>(CORPUS).map(({ name, entry }) => ({
    ...(fillPlaceholders(entry, values) as Omit<RestSeed, 'name'>),
    name,
  }));
  return { api, alice, bob, seeds };
}

function requestArbitrary(seeds: RestSeed[]): fc.Arbitrary<FuzzRequest> {
  const caller = fc.constantFrom<Caller>('alice', 'alice', 'bob', 'stranger');
  return fc.constantFrom(...seeds).chain((seed) => {
    const parts: Array<fc.Arbitrary<{ part: Part; fuzzed: Fuzzed }>> = [
      mutatedPayload(seed.body ?? {}, MUTATION).map((fuzzed) => ({ part: 'body' as const, fuzzed })),
      rawBody(seed.body).map((fuzzed) => ({ part: 'raw' as const, fuzzed })),
    ];
    if (seed.params)
      parts.push(mutatedPayload(seed.params, MUTATION).map((fuzzed) => ({ part: 'params', fuzzed })));
    parts.push(
      mutatedPayload(seed.query ?? { skip: '0' }, MUTATION).map((fuzzed) => ({ part: 'query', fuzzed })),
    );
    return fc.tuple(fc.oneof(...parts), caller).map(([p, c]) => ({ seed, ...p, caller: c }));
  });
}

/** Bodies that are not JSON, or barely: truncated seeds, random text, a huge JSON string. */
function rawBody(body: unknown): fc.Arbitrary<Fuzzed> {
  const text = JSON.stringify(body ?? {});
  return fc
    .oneof(
      fc.nat(text.length).map((n) => text.slice(0, n)),
      fc.string({ unit: 'binary', maxLength: 64 }),
      hugeString(1, 10_000).map((s) => `"${s}"`),
      fc.constantFrom('null', 'true', '0', '[]', '"x"', '{"__proto__":{"admin":true}}', '{"a":1,"a":2}'),
    )
    .map((value) => ({ value, kind: 'raw' }));
}

/**
 * A path parameter as it appears in the URL: strings as they are, anything else as JSON. A lone
 * surrogate cannot be percent-encoded: it goes as the bytes of its WTF-8 form (invalid UTF-8).
 */
function segment(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}

function urlOf(r: FuzzRequest): string {
  const params = r.part === 'params' && isRecord(r.fuzzed.value) ? r.fuzzed.value : (r.seed.params ?? {});
  const path = r.seed.path.replace(/:(\w+)/g, (_m, name: string) => segment(params[name] ?? ''));
  const query = r.part === 'query' ? r.fuzzed.value : r.seed.query;
  return `/busapi/v3${path}${queryString(query)}`;
}

function queryString(query: unknown): string {
  if (query === undefined) return '';
  if (!isRecord(query)) return `?${segment(query)}`;
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    for (const item of Array.isArray(v) ? v : [v])
      search.append(k, typeof item === 'string' ? item : (JSON.stringify(item) ?? ''));
  }
  return `?${search}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function headersOf(world: World, r: FuzzRequest): Record<string, string> {
  const headers: Record<string, string> = { 'x-api-key': API_KEY };
  const user = r.caller === 'bob' ? world.bob : world.alice;
  if (r.caller === 'stranger') headers.authorization = 'Bearer not.a.jwt';
  else if (r.seed.auth === 'refresh') headers.authorization = `Bearer ${user.refreshToken}`;
  else headers.authorization = `Bearer ${user.token}`;
  return headers;
}

function payloadOf(r: FuzzRequest): string | undefined {
  if (r.part === 'raw') return r.fuzzed.value as string;
  const body = r.part === 'body' ? r.fuzzed.value : r.seed.body;
  return body === undefined ? undefined : JSON.stringify(body);
}

/** The property: never a 5xx; errors are `{ message }`; a 400 for one bad field names it. */
async function checkRequest(world: World, r: FuzzRequest): Promise<void> {
  const payload = payloadOf(r);
  const headers = headersOf(world, r);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const res = await world.api.app.inject({ method: r.seed.method as 'GET', url: urlOf(r), headers, payload });
  const where = `${r.seed.name} ${r.part}/${r.fuzzed.kind} ${r.seed.method} ${urlOf(r).slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  assert.ok(res.statusCode < 500, where);
  if (res.statusCode < 400 || !res.headers['content-type']?.startsWith('application/json')) return;
  const body = res.json() as { message?: unknown };
  assert.deepEqual(Object.keys(body), ['message'], where);
  assert.ok(typeof body.message === 'string' && body.message.length > 0, where);
  if (res.statusCode !== 400 || r.fuzzed.field === undefined) return;
  // A body field with a wrong value is named; a path parameter may also change the route matched
  // ('' or '/' in it), whose own parameter is named then.
  const named = r.part === 'body' ? `body.${r.fuzzed.field}: ` : r.part === 'params' ? 'params.' : '';
  assert.ok(body.message.includes(named) || isParserRejection(body.message), where);
}

/** Refusals before any field is looked at: prototype keys in the JSON, a malformed URL. */
function isParserRejection(message: string): boolean {
  return /^body: "__proto__" and "constructor.prototype" keys are not allowed$|^Malformed URL/.test(message);
}

describe('REST bodies fuzz target', () => {
  let world: World;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    world = await startWorld();
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await world.api.close();
  });

  it('random, mistyped, huge and deep bodies, params and queries of every route get a 2xx or a 4xx { message } naming the field, never a 5xx', async () => {
    await fuzzAsync(requestArbitrary(world.seeds), (r) => checkRequest(world, r), DEFAULT_RUNS);
    assert.deepEqual(unhandled, []);
  });

  it('after the fuzz pass the server still serves a normal flow: login, create, join, chat', async () => {
    const { api } = world;
    const carol = await login(api, 'fuzz-carol-after');
    const room = await api.call('POST', '/rooms', { token: carol.token, body: { title: 'After' } });
    assert.equal(room.status, 201, room.text);
    const join = await api.call('POST', `/rooms/${room.body.id}/join`, { token: carol.token, body: {} });
    assert.equal(join.status, 201, join.text);
    const chat = await api.call('POST', `/chats/${room.body.id}`, {
      token: carol.token,
      body: { data: 'still here' },
    });
    assert.equal(chat.status, 201, chat.text);
    assert.equal(chat.body.data, 'still here');
  });
});
