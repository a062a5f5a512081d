import { z } from 'zod';
import { API_PREFIX } from './http-server.ts';
import type { RouteDef } from './route.ts';

/** The OpenAPI 3.1 document of the REST API, generated from the route table and its zod schemas. */

type JsonSchema = Record<string, unknown>;

const ERROR_SCHEMA = {
  type: 'object',
  properties: { message: { type: 'string' } },
  required: ['message'],
};

const ERROR_RESPONSES: Record<string, string> = {
  '400': 'Invalid request (the message names the field)',
  '401': 'Invalid API Key or Invalid token',
  '403': 'Not allowed',
  '404': 'Not found',
  '409': 'Conflict with the current state',
};

function toSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
}

/** `/rooms/:roomId` → `/busapi/v3/rooms/{roomId}` */
export function openApiPath(path: string): string {
  return API_PREFIX + path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const json = toSchema(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: property,
  }));
}

function security(def: RouteDef) {
  if (def.auth === 'public') return [];
  if (def.auth === 'apiKey') return [{ ApiKey: [] }];
  return [{ ApiKey: [], [def.auth === 'refresh' ? 'RefreshToken' : 'AccessToken']: [] }];
}

function successContent(def: RouteDef) {
  const status = def.successStatus ?? 200;
  if (status === 204) return { description: 'No content' };
  const type = def.text ? 'text/plain' : 'application/json';
  const schema = def.text ? { type: 'string' } : def.reply ? toSchema(def.reply) : {};
  return { description: 'Success', content: { [type]: { schema } } };
}

function operation(def: RouteDef) {
  const errorRef = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const errors = Object.fromEntries(
    Object.entries(ERROR_RESPONSES).map(([status, description]) => [status, { description, ...errorRef }]),
  );
  return {
    summary: def.summary,
    tags: [def.tag],
    operationId: `${def.method.toLowerCase()}${def.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string = '') => c.toUpperCase())}`,
    security: security(def),
    parameters: [...parameters(def.params, 'path'), ...parameters(def.query, 'query')],
    ...(def.body && {
      requestBody: { required: true, content: { 'application/json': { schema: toSchema(def.body) } } },
    }),
    responses: { [String(def.successStatus ?? 200)]: successContent(def), ...errors },
  };
}

export function buildOpenApiDocument(routes: readonly RouteDef[], version = '0.1.0') {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const def of routes) {
    const path = openApiPath(def.path);
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[def.method.toLowerCase()] = operation(def);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'BBMEET Media Server REST API',
      version,
      description: 'Waterbus-compatible REST API. Errors are `{ "message": "..." }`.',
    },
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: {
        ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        AccessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        RefreshToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'The refresh token (GET /auth only)',
        },
      },
    },
  };
}
