import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { playlistOrigin, serveViewer, viewerCsp } from './serve.ts';

/** The viewer's HTTP side on a node:http server: its files, their types, the page's CSP. */

describe('serveViewer', () => {
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((req, res) => {
      if (!serveViewer(req, res)) res.writeHead(418).end('not the viewer');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('serves the page with a CSP that allows media and requests to the playlist origin only', async () => {
    const hls = 'https://cdn.example.org:8443/egress/eg-1/master.m3u8';
    const res = await fetch(`${base}/egress/watch.html?hls=${encodeURIComponent(hls)}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /media-src 'self' https:\/\/cdn\.example\.org:8443 blob:/);
    assert.match(csp, /connect-src 'self' https:\/\/cdn\.example\.org:8443(;|$)/);
    assert.match(csp, /script-src 'self'/);
    assert.match(await res.text(), /<script type="module" src="watch\.js"><\/script>/);
  });

  it('the bundle and stylesheet come with their types; other paths are left to the caller', async () => {
    const js = await fetch(`${base}/egress/watch.js`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.ok((await js.text()).length > 10_000, 'hls.js is bundled in');
    const css = await fetch(`${base}/egress/watch.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal((await fetch(`${base}/egress/eg-1/master.m3u8`)).status, 418);
    assert.equal((await fetch(`${base}/watch.html`)).status, 418);
    const post = await fetch(`${base}/egress/watch.html`, { method: 'POST' });
    assert.equal(post.status, 405);
  });

  it('only an absolute http(s) playlist URL adds an origin to the policy', () => {
    assert.equal(playlistOrigin('http://127.0.0.1:9000/a/master.m3u8'), 'http://127.0.0.1:9000');
    assert.equal(playlistOrigin('eg-1/master.m3u8'), null, 'relative: same origin');
    assert.equal(playlistOrigin('javascript:alert(1)'), null);
    assert.equal(playlistOrigin("data:,x'; script-src *"), null);
    assert.equal(playlistOrigin(null), null);
    assert.doesNotMatch(viewerCsp(null), /null/);
  });
});
