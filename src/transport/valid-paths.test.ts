import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RemoteAddress } from './ice/ice-lite-agent.ts';
import { MAX_EXTRA_PATHS, ValidPaths } from './valid-paths.ts';

const V4: RemoteAddress = { address: '192.0.2.2', port: 5000, family: 'IPv4' };
const V6: RemoteAddress = { address: 'fd00::2', port: 5002, family: 'IPv6' };
const TCP: RemoteAddress = {
  address: '192.0.2.2',
  port: 6000,
  family: 'IPv4',
  stream: { write: () => undefined },
};

/** The endpoint's address → transport map, changed as UdpEndpoint.routeFrom does (UDP paths). */
function endpoint() {
  const routes = new Map<string, string>();
  const key = (a: RemoteAddress) => `${a.address}|${a.port}`;
  return {
    routes,
    routeFrom(transport: string, address: RemoteAddress, previous: RemoteAddress | undefined) {
      if (previous && !previous.stream) routes.delete(key(previous));
      if (!address.stream) routes.set(key(address), transport);
    },
  };
}

describe('ValidPaths', () => {
  it('a checked address besides the selected one is routed too, and unrouted when the transport goes', () => {
    const e = endpoint();
    const paths = new ValidPaths(e, 't');
    e.routeFrom('t', V4, undefined); // the first valid check selected V4
    paths.checked(V4, V4);
    paths.checked(V6, V4); // the browser's IPv6 pair passed a check, not nominated
    assert.deepEqual([...e.routes.keys()].sort(), ['192.0.2.2|5000', 'fd00::2|5002']);
    paths.checked(V6, V4);
    assert.equal(paths.size, 1, 'once');
    paths.clear(V4);
    assert.deepEqual([...e.routes.keys()], ['192.0.2.2|5000'], 'the selected one is left for forget()');
  });

  it('when the browser nominates the other path, the old selected one stays routed as a valid path', () => {
    const e = endpoint();
    const paths = new ValidPaths(e, 't');
    e.routeFrom('t', V4, undefined);
    paths.checked(V6, V4);
    e.routeFrom('t', V6, V4); // the endpoint moves the selection: V4 unrouted
    paths.selectionMoved(V4, V6);
    assert.equal(paths.size, 1);
    assert.deepEqual([...e.routes.keys()].sort(), ['192.0.2.2|5000', 'fd00::2|5002']);
    paths.clear(V6);
    assert.deepEqual([...e.routes.keys()], ['fd00::2|5002']);
  });

  it('ICE-TCP paths are never extra; a TCP selected path still unroutes the UDP extras', () => {
    const e = endpoint();
    const paths = new ValidPaths(e, 't');
    paths.checked(TCP, V4);
    assert.equal(paths.size, 0);
    paths.checked(V6, TCP);
    paths.clear(TCP);
    assert.equal(e.routes.size, 0);
  });

  it(`at most ${MAX_EXTRA_PATHS} extra addresses`, () => {
    const e = endpoint();
    const paths = new ValidPaths(e, 't');
    for (let i = 0; i < MAX_EXTRA_PATHS + 3; i++) paths.checked({ ...V4, port: 7000 + i }, V4);
    assert.equal(paths.size, MAX_EXTRA_PATHS);
  });
});
