import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login, restClient, roomWithParticipants } from '../support/clients.ts';
import { sdpFixture } from '../support/sdp-fixtures.ts';
import { startCluster, type TestCluster } from './cluster.ts';

/**
 * WHIP behind a load balancer that does not stick: the session lives on the signalling instance
 * the POST reached, and its PATCH and DELETE, sent to the other instance, are handed to it over
 * the socket.io adapter (Redis) and answered as if sent there.
 */

const OFFER = sdpFixture('publisher-single');
const UFRAG = /a=ice-ufrag:(\S+)/.exec(OFFER)![1]!;
const trickle = `a=ice-ufrag:${UFRAG}\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n`;

let cluster: TestCluster;

async function whip(
  url: string,
  method: string,
  token: string,
  body?: { type: string; text: string },
  headers: Record<string, string> = {},
) {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': body.type } : {}),
      ...headers,
    },
    ...(body ? { body: body.text } : {}),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('cluster: WHIP resources reached through any signalling instance', { timeout: 120_000 }, () => {
  before(async () => {
    cluster = await startCluster({ sfuCount: 1, signallingCount: 2 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('a PATCH and a DELETE sent to the other instance act on the session; an unknown or foreign session is 404 there', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    const call = restClient(one.url);
    const host = await login(call, 'whip-cluster-host', 'Host');
    const stranger = await login(call, 'whip-cluster-stranger', 'Stranger');
    const { roomId, code } = await roomWithParticipants(call, [host], 'whip cluster');

    const published = await whip(`${one.url}/whip/rooms/${roomId}`, 'POST', host.token, {
      type: 'application/sdp',
      text: OFFER,
    });
    assert.equal(published.status, 201, published.text);
    const resource = published.headers.get('location')!;
    const etag = published.headers.get('etag')!;
    assert.match(resource, new RegExp(`^/whip/rooms/${roomId}/sessions/`));
    const fragment = { type: 'application/trickle-ice-sdpfrag', text: trickle };

    // Trickle through the instance that does not hold the session: 204, as on its holder.
    const trickled = await whip(`${two.url}${resource}`, 'PATCH', host.token, fragment, { 'if-match': etag });
    assert.equal(trickled.status, 204, trickled.text);
    // The holder's refusals come back as they are: an older ICE session's tag is 412.
    const stale = await whip(`${two.url}${resource}`, 'PATCH', host.token, fragment, {
      'if-match': '"00000000-9"',
    });
    assert.equal(stale.status, 412, stale.text);
    // Someone else's session is as unknown as a made-up one, on either instance.
    const foreign = await whip(`${two.url}${resource}`, 'PATCH', stranger.token, fragment);
    assert.equal(foreign.status, 404, foreign.text);
    const madeUp = await whip(`${two.url}/whip/rooms/${roomId}/sessions/nosuchsession`, 'DELETE', host.token);
    assert.equal(madeUp.status, 404, madeUp.text);

    // DELETE through the other instance ends it: its participant leaves the room.
    const ended = await whip(`${two.url}${resource}`, 'DELETE', host.token);
    assert.equal(ended.status, 200, ended.text);
    for (const instance of [one, two]) {
      const gone = await whip(`${instance.url}${resource}`, 'PATCH', host.token, fragment);
      assert.equal(gone.status, 404, `after the DELETE, on ${instance.url}: ${gone.text}`);
    }
    const room = await call<{ participants: Array<{ userId: number; status: number }> }>(
      'GET',
      `/rooms/${code}`,
      { token: host.token },
    );
    assert.equal(room.status, 200);
    assert.deepEqual(
      room.body.participants.filter((p) => p.userId === host.id),
      [],
      `the WHIP participant left: ${JSON.stringify(room.body.participants)}`,
    );
  });
});
