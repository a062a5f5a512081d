import assert from 'node:assert/strict';
import { test } from 'node:test';
import { objectUrl, type StorageSettings } from './storage-options.ts';

const storage: StorageSettings = {
  endpoint: 'http://127.0.0.1:9000/',
  region: 'auto',
  bucket: 'live',
  accessKeyId: 'id',
  secretAccessKey: 'secret',
  forcePathStyle: true,
};

test('objectUrl() is path style on the endpoint, each key segment encoded', () => {
  assert.equal(objectUrl(storage, 'r 1/p/master.m3u8'), 'http://127.0.0.1:9000/live/r%201/p/master.m3u8');
});

test('objectUrl() is virtual-hosted style without forcePathStyle, on AWS when no endpoint is set', () => {
  assert.equal(
    objectUrl({ ...storage, endpoint: 'https://s3.example.com', forcePathStyle: false }, 'a/b.mp4'),
    'https://live.s3.example.com/a/b.mp4',
  );
  assert.equal(
    objectUrl({ ...storage, endpoint: '', region: 'eu-west-1', forcePathStyle: false }, 'a.mp4'),
    'https://live.s3.eu-west-1.amazonaws.com/a.mp4',
  );
});

test('objectUrl() on a custom domain is https://<domain>/<bucket>/<key>, as STORAGE_CUSTOM_DOMAIN was', () => {
  assert.equal(
    objectUrl({ ...storage, customDomain: 'media.example.com' }, 'p/x.m3u8'),
    'https://media.example.com/live/p/x.m3u8',
  );
  assert.equal(
    objectUrl({ ...storage, customDomain: 'http://cdn.local:8080/' }, 'p/x.m3u8'),
    'http://cdn.local:8080/live/p/x.m3u8',
  );
});
