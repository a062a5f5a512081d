import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../lib/logger.ts';
import type { Store } from '../store/types.ts';
import type { ApiDeps } from './deps.ts';
import { apiRoutes } from './index.ts';
import { buildOpenApiDocument, openApiPath } from './openapi.ts';

const deps: ApiDeps = {
  store: {} as Store, // the document is built from the route table; no route runs
  auth: {
    apiKey: 'k',
    jwtSecret: 'j',
    refreshSecret: 'r',
    accessTokenTtlS: 60,
    refreshTokenTtlS: 120,
    loginMode: 'open',
    identitySecret: undefined,
  },
  storage: undefined,
  broadcaster: { toRoom: () => undefined, evictUser: () => undefined, disconnectUser: () => undefined },
  logger: silentLogger(),
};

type Operation = {
  security: Array<Record<string, string[]>>;
  parameters: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
  requestBody?: { content: { 'application/json': { schema: Record<string, unknown> } } };
  responses: Record<string, unknown>;
  operationId: string;
};

describe('OpenAPI document', () => {
  const routes = apiRoutes(deps);
  const doc = buildOpenApiDocument(routes);
  const op = (method: string, path: string) =>
    (doc.paths[openApiPath(path)] as Record<string, Operation> | undefined)?.[method] as Operation;

  it('is OpenAPI 3.1 with both security schemes', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc.components.securitySchemes.ApiKey, {
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
    });
    assert.equal(doc.components.securitySchemes.AccessToken.scheme, 'bearer');
  });

  it('documents every route once, with a unique operationId and declared path parameters', () => {
    const ids = new Set<string>();
    for (const def of routes) {
      const operation = op(def.method.toLowerCase(), def.path);
      assert.ok(operation, `${def.method} ${def.path}`);
      ids.add(operation.operationId);
      for (const name of def.path.match(/:(\w+)/g) ?? []) {
        const p = operation.parameters.find((x) => x.name === name.slice(1));
        assert.ok(p && p.in === 'path' && p.required, `${def.path} declares ${name}`);
      }
    }
    assert.equal(ids.size, routes.length);
    assert.ok(doc.paths['/busapi/v3/rooms/{roomId}/join']);
  });

  it('derives parameter and body schemas from the zod schemas', () => {
    const join = op('post', '/rooms/:roomId/join');
    assert.equal(join.parameters[0]?.schema.type, 'integer');
    const create = op('post', '/rooms').requestBody?.content['application/json'].schema;
    assert.deepEqual(create?.required, ['title']);
    const props = create?.properties as Record<string, unknown>;
    for (const key of ['title', 'password', 'room_type', 'streaming_protocol', 'capacity', 'roomType']) {
      assert.ok(props[key], key);
    }
    const list = op('get', '/rooms').parameters.map((p) => [p.name, p.in, p.required]);
    assert.deepEqual(list, [
      ['skip', 'query', false],
      ['limit', 'query', false],
    ]);
  });

  it("documents a reply schema where the route gives one (GET /auth/ice-servers' RTCIceServer list)", () => {
    const ok = op('get', '/auth/ice-servers').responses['200'] as {
      content: {
        'application/json': { schema: { required?: string[]; properties: Record<string, unknown> } };
      };
    };
    const schema = ok.content['application/json'].schema;
    assert.deepEqual(schema.required, ['iceServers']);
    const items = (schema.properties.iceServers as { items: { required: string[] } }).items;
    assert.deepEqual(items.required, ['urls']);
  });

  it('states who may call each route', () => {
    assert.deepEqual(op('get', '/health-check').security, [{ ApiKey: [] }]);
    assert.deepEqual(op('post', '/auth').security, [{ ApiKey: [] }]);
    assert.deepEqual(op('get', '/auth').security, [{ ApiKey: [], RefreshToken: [] }]);
    assert.deepEqual(op('get', '/users').security, [{ ApiKey: [], AccessToken: [] }]);
    assert.ok(op('post', '/rooms').responses['201']);
    assert.ok(op('delete', '/auth').responses['204']);
  });
});
