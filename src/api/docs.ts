import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildOpenApiDocument } from './openapi.ts';
import type { RouteDef } from './route.ts';
import { DOCS_PAGE_HELMET } from './security-headers.ts';

/**
 * API documentation outside the /busapi/v3 tree, as Waterbus serves it: the OpenAPI document at
 * `/api-doc/openapi.json` and Swagger UI at `/docs`, from the installed swagger-ui-dist package
 * (no CDN).
 */

export const OPENAPI_PATH = '/api-doc/openapi.json';

/** The swagger-ui-dist files the page needs, with their content types. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>BBMEET REST API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: '${OPENAPI_PATH}',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
});
`;

function swaggerUiDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}

export function registerDocs(app: FastifyInstance, routes: readonly RouteDef[]): void {
  const document = buildOpenApiDocument(routes);
  const dir = swaggerUiDir();
  const cache = new Map<string, Buffer>();
  app.get(OPENAPI_PATH, async () => document);
  app.get('/docs', { helmet: DOCS_PAGE_HELMET }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(PAGE),
  );
  app.get('/docs/init.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(INIT),
  );
  app.get<{ Params: { file: string } }>('/docs/:file', async (request, reply) => {
    const { file } = request.params;
    const type = ASSETS[file];
    if (!type) return reply.code(404).type('text/plain; charset=utf-8').send('Not Found');
    let body = cache.get(file);
    if (!body) {
      body = await readFile(path.join(dir, file));
      cache.set(file, body);
    }
    return reply.type(type).header('cache-control', 'public, max-age=86400').send(body);
  });
}
