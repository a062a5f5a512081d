import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Api, login, type Session, startApi } from './harness.ts';

const STORAGE = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'secret',
  bucket: 'avatars',
  region: 'auto',
  endpointUrl: 'https://account.r2.cloudflarestorage.com',
  customDomain: 'cdn.example.com',
};

describe('REST: presigned upload URLs', () => {
  let plain: Api;
  let withStorage: Api;
  let user: Session;
  let other: Session;

  before(async () => {
    [plain, withStorage] = await Promise.all([startApi(), startApi({ storage: STORAGE })]);
    user = await login(plain, 'ext-u');
    other = await login(withStorage, 'ext-v');
  });
  after(() => Promise.all([plain.close(), withStorage.close()]));

  it('answers 501 with a clear message when storage is not configured', async () => {
    const res = await plain.call('POST', '/auth/presigned-url', { token: user.token });
    assert.equal(res.status, 501);
    assert.deepEqual(res.body, {
      message:
        'File storage is not configured (set STORAGE_ACCESS_KEY_ID, STORAGE_SECRET_ACCESS_KEY and STORAGE_BUCKET_NAME)',
    });
  });

  it('returns 201 {presignedUrl, sourceUrl} for a public-read .webp PUT valid 60 s', async () => {
    // The Flutter SDK posts with a JSON content type and an empty body.
    const res = await withStorage.call('POST', '/auth/presigned-url', {
      token: other.token,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['presignedUrl', 'sourceUrl']);
    const url = new URL(res.body.presignedUrl);
    assert.match(url.pathname, /^\/avatars\/[A-Za-z0-9_-]{21}\.webp$/);
    assert.equal(url.host, 'account.r2.cloudflarestorage.com');
    assert.equal(url.searchParams.get('X-Amz-Expires'), '60');
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'host;x-amz-acl');
    assert.equal(res.body.sourceUrl, `https://cdn.example.com${url.pathname}`);
  });

  it('needs the access token', async () => {
    const res = await withStorage.call('POST', '/auth/presigned-url', {});
    assert.deepEqual([res.status, res.body], [401, { message: 'Invalid token' }]);
  });
});

describe('REST: documentation and operations endpoints', () => {
  let api: Api;
  before(async () => {
    api = await startApi();
  });
  after(() => api.close());

  it('serves the OpenAPI document without an API key', async () => {
    const res = await api.call('GET', '/api-doc/openapi.json', { apiKey: null, root: true });
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.1.0');
    assert.ok(res.body.paths['/busapi/v3/rooms/{roomId}/join'].post);
    assert.ok(res.body.paths['/busapi/v3/chats/conversations/{roomId}'].delete);
  });

  it('serves Swagger UI from the installed package, and only its files', async () => {
    const page = await api.call('GET', '/docs', { apiKey: null, root: true });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.text, /swagger-ui-bundle\.js/);
    assert.doesNotMatch(page.text, /https?:\/\/(cdn|unpkg)/);
    const bundle = await api.call('GET', '/docs/swagger-ui-bundle.js', { apiKey: null, root: true });
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
    assert.ok(bundle.text.length > 100_000);
    const init = await api.call('GET', '/docs/init.js', { apiKey: null, root: true });
    assert.match(init.text, /\/api-doc\/openapi\.json/);
    for (const path of ['/docs/package.json', '/docs/..%2Fpackage.json', '/docs/index.js']) {
      assert.equal((await api.call('GET', path, { apiKey: null, root: true })).status, 404, path);
    }
  });

  it('keeps /healthz and /readyz outside the API key', async () => {
    assert.equal((await api.call('GET', '/healthz', { apiKey: null, root: true })).status, 200);
    assert.deepEqual((await api.call('GET', '/readyz', { apiKey: null, root: true })).body, {
      status: 'ready',
    });
  });
});
