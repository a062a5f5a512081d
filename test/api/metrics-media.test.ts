import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('/metrics: live media objects (dump)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, { media: true });
  });
  after(() => server.close());

  it('an embedded server with media exposes bbmeet_media_objects for every kind, 0 when nobody is connected', async () => {
    const res = await fetch(`${server.baseUrl}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    for (const kind of [
      'rooms',
      'participants',
      'publishers',
      'subscriptions',
      'down_tracks',
      'transports',
      'relays',
      'remote_tracks',
      'taps',
    ])
      assert.match(text, new RegExp(`^bbmeet_media_objects\\{kind="${kind}"\\} 0$`, 'm'), kind);
  });
});
