import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StorageOptions } from './deps.ts';
import {
  amzDate,
  canonicalRequest,
  presignedUpload,
  presignUrl,
  randomObjectName,
  uriEncode,
} from './presign.ts';

// The example of "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)" in the
// Amazon S3 API reference: a presigned GET of examplebucket/test.txt.
const AWS_EXAMPLE = {
  method: 'GET',
  url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
  region: 'us-east-1',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  now: new Date('2013-05-24T00:00:00Z'),
  expiresS: 86400,
};

const STORAGE: StorageOptions = {
  accessKeyId: 'AKID',
  secretAccessKey: 'SECRET',
  bucket: 'avatars',
  region: 'auto',
  endpointUrl: 'https://account.r2.cloudflarestorage.com',
  customDomain: undefined,
};

describe('S3 SigV4 presigning', () => {
  it('reproduces the signature of the AWS documentation example', () => {
    const url = new URL(presignUrl(AWS_EXAMPLE));
    assert.equal(
      url.searchParams.get('X-Amz-Signature'),
      'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
    assert.equal(
      url.searchParams.get('X-Amz-Credential'),
      'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request',
    );
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'host');
    assert.equal(url.origin + url.pathname, 'https://examplebucket.s3.amazonaws.com/test.txt');
  });

  it('builds the canonical request of the example', () => {
    const query = {
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request',
      'X-Amz-Date': '20130524T000000Z',
      'X-Amz-Expires': '86400',
      'X-Amz-SignedHeaders': 'host',
    };
    assert.equal(
      canonicalRequest(AWS_EXAMPLE, query),
      [
        'GET',
        '/test.txt',
        'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host',
        'host:examplebucket.s3.amazonaws.com',
        '',
        'host',
        'UNSIGNED-PAYLOAD',
      ].join('\n'),
    );
  });

  it('encodes as RFC 3986 and formats dates', () => {
    assert.equal(uriEncode("a b/c!*'()~"), 'a%20b%2Fc%21%2A%27%28%29~');
    assert.equal(uriEncode('a b/c', true), 'a%20b/c');
    assert.equal(amzDate(new Date('2025-07-23T12:34:56.789Z')), '20250723T123456Z');
  });

  it('presigns a 60 s public-read PUT of a random .webp key, path-style on a custom endpoint', () => {
    const { presignedUrl, sourceUrl } = presignedUpload(STORAGE, new Date('2025-01-02T03:04:05Z'), 'k.webp');
    const url = new URL(presignedUrl);
    assert.equal(url.origin + url.pathname, 'https://account.r2.cloudflarestorage.com/avatars/k.webp');
    assert.equal(url.searchParams.get('X-Amz-Expires'), '60');
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'host;x-amz-acl');
    assert.equal(url.searchParams.get('X-Amz-Credential'), 'AKID/20250102/auto/s3/aws4_request');
    assert.match(url.searchParams.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);
    assert.equal(sourceUrl, 'https://account.r2.cloudflarestorage.com/avatars/k.webp');
  });

  it('uses virtual-hosted AWS URLs without an endpoint and the custom domain for sourceUrl', () => {
    const storage = {
      ...STORAGE,
      endpointUrl: undefined,
      region: 'eu-west-1',
      customDomain: 'cdn.example.com',
    };
    const { presignedUrl, sourceUrl } = presignedUpload(storage, new Date(), 'k.webp');
    assert.ok(presignedUrl.startsWith('https://avatars.s3.eu-west-1.amazonaws.com/k.webp?'));
    assert.equal(sourceUrl, 'https://cdn.example.com/avatars/k.webp');
  });

  it('names objects with 21 URL-safe random characters', () => {
    const names = new Set(Array.from({ length: 50 }, randomObjectName));
    assert.equal(names.size, 50);
    for (const n of names) assert.match(n, /^[A-Za-z0-9_-]{21}$/);
    assert.match(presignedUpload(STORAGE).sourceUrl, /\/avatars\/[A-Za-z0-9_-]{21}\.webp$/);
  });
});
