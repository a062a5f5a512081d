import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { after, describe, it } from 'node:test';
import { type EgressRequestHandler, mountEgressHttp, startEgressHttpServer } from './egress-http.ts';

/** Answers with the path it got; accepts the upgrade on /egress/moq only. */
function recordingEgress(): EgressRequestHandler & { upgrades: string[] } {
  const upgrades: string[] = [];
  return {
    upgrades,
    handle(req, res) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`egress ${req.url}`);
    },
    upgrade(req: IncomingMessage, socket: Duplex) {
      upgrades.push(req.url ?? '');
      if (req.url !== '/egress/moq') return false;
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
      return true;
    },
  };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** Sends an upgrade request; resolves with the status line the server answered. */
function upgradeStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      port,
      host: '127.0.0.1',
      path,
      headers: { connection: 'Upgrade', upgrade: 'test' },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('egress HTTP mount', () => {
  const servers: Array<{ close(): unknown }> = [];
  after(() => {
    for (const s of servers) s.close();
  });

  it('mountEgressHttp() sends /egress/ requests and upgrades to egress and everything else to the server', async () => {
    const egress = recordingEgress();
    const upgradesSeenByServer: string[] = [];
    const server = createServer((req, res) => {
      res.writeHead(418);
      res.end(`server ${req.url}`);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      upgradesSeenByServer.push(req.url ?? '');
      socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n');
    });
    mountEgressHttp(server, egress);
    servers.push(server);
    const port = await listen(server);
    const egressRes = await fetch(`http://127.0.0.1:${port}/egress/r1/index.m3u8?_HLS_msn=3`);
    assert.deepEqual(
      [egressRes.status, await egressRes.text()],
      [200, 'egress /egress/r1/index.m3u8?_HLS_msn=3'],
    );
    for (const path of ['/egress', '/busapi/v3/rooms', '/egressx/a']) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      assert.deepEqual([res.status, await res.text()], [418, `server ${path}`]);
    }
    assert.equal(await upgradeStatus(port, '/egress/moq'), 101);
    assert.equal(await upgradeStatus(port, '/egress/other'), 404);
    assert.equal(await upgradeStatus(port, '/socket.io/?EIO=4&transport=websocket'), 426);
    assert.deepEqual(egress.upgrades, ['/egress/moq', '/egress/other']);
    assert.deepEqual(upgradesSeenByServer, ['/socket.io/?EIO=4&transport=websocket']);
  });

  it('startEgressHttpServer() serves /egress/ on its own port and 404s the rest', async () => {
    const egress = recordingEgress();
    const server = await startEgressHttpServer(egress, {
      host: '127.0.0.1',
      port: 0,
      timeouts: { requestMs: 5000, headersMs: 5000, keepAliveMs: 5000 },
    });
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    const ok = await fetch(`${base}/egress/r1/p1/index.m3u8`);
    assert.deepEqual([ok.status, await ok.text()], [200, 'egress /egress/r1/p1/index.m3u8']);
    const other = await fetch(`${base}/busapi/v3/rooms`);
    assert.deepEqual([other.status, await other.text()], [404, 'Not Found']);
    assert.equal(await upgradeStatus(server.port, '/egress/moq'), 101);
    assert.equal(await upgradeStatus(server.port, '/socket.io/'), 404);
    await server.close();
    await assert.rejects(fetch(`${base}/egress/r1/p1/index.m3u8`));
  });
});
