import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login, restClient, roomWithParticipants } from '../support/clients.ts';
import { sdpFixture } from '../support/sdp-fixtures.ts';
import { startCluster, type TestCluster } from './cluster.ts';

/**
 * WHIP and WHEP behind a load balancer that does not stick: a session lives on the signalling
 * instance the POST reached, and its PATCH and DELETE, sent to the other instance, are handed to it
 * over the socket.io adapter (Redis) and answered as if sent there.
 */

const OFFER = sdpFixture('publisher-single');
const UFRAG = /a=ice-ufrag:(\S+)/.exec(OFFER)![1]!;
const trickle = `a=ice-ufrag:${UFRAG}\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n`;

const WHEP_OFFER = sdpFixture('whep-chromium-recvonly');
const WHEP_UFRAG = /a=ice-ufrag:(\S+)/.exec(WHEP_OFFER)![1]!;
const whepFragment = `a=ice-ufrag:${WHEP_UFRAG}\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50001 typ host\r\n`;

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
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': body.type } : {}),
      ...headers,
    },
    ...(body ? { body: body.text } : {}),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('cluster: WHIP and WHEP resources reached through any signalling instance', {
  timeout: 120_000,
}, () => {
  before(async () => {
    cluster = await startCluster({ sfuCount: 1, signallingCount: 2 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('a PATCH and a DELETE sent to the other instance act on the WHIP or WHEP session; an unknown or foreign session is 404 there', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    const call = restClient(one.url);
    const host = await login(call, 'whip-cluster-host', 'Host');
    const stranger = await login(call, 'whip-cluster-stranger', 'Stranger');
    const viewer = await login(call, 'whip-cluster-viewer', 'Viewer');
    const { roomId, code } = await roomWithParticipants(call, [host, viewer], 'whip cluster');

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

    // A WHEP viewer of that publisher, started on the first instance, is reached through the
    // other one too (the session id is its credential, as on its holder).
    const listed = await call<{ participants: Array<{ id: number; userId: number }> }>(
      'GET',
      `/rooms/${code}`,
      {
        token: host.token,
      },
    );
    const publisher = listed.body.participants.find((p) => p.userId === host.id)!;
    const viewing = await whip(
      `${one.url}/whep/rooms/${roomId}/participants/${publisher.id}`,
      'POST',
      viewer.token,
      { type: 'application/sdp', text: WHEP_OFFER },
    );
    assert.equal(viewing.status, 201, viewing.text);
    const whepResource = viewing.headers.get('location')!;
    const whepTrickle = { type: 'application/trickle-ice-sdpfrag', text: whepFragment };
    const whepTrickled = await whip(`${two.url}${whepResource}`, 'PATCH', '', whepTrickle, {
      'if-match': viewing.headers.get('etag')!,
    });
    assert.equal(whepTrickled.status, 204, whepTrickled.text);
    const whepStale = await whip(`${two.url}${whepResource}`, 'PATCH', '', whepTrickle, {
      'if-match': '"00000000-9"',
    });
    assert.equal(whepStale.status, 412, whepStale.text);
    const whepEnded = await whip(`${two.url}${whepResource}`, 'DELETE', '');
    assert.equal(whepEnded.status, 200, whepEnded.text);
    for (const instance of [one, two]) {
      const gone = await whip(`${instance.url}${whepResource}`, 'DELETE', '');
      assert.equal(gone.status, 404, `after the WHEP DELETE, on ${instance.url}: ${gone.text}`);
    }

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
