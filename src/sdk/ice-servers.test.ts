import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IceServerSource } from './ice-servers.ts';

const T0 = 1_700_000_000_000;

function source(answers: Array<RTCIceServer[] | Error>, maxAgeMs = 600_000) {
  let now = T0;
  let calls = 0;
  const s = new IceServerSource({
    fetchServers: async () => {
      const answer = answers[Math.min(calls++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    now: () => now,
    maxAgeMs,
  });
  return {
    s,
    calls: () => calls,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const turn = (expiryS: number): RTCIceServer => ({
  urls: ['turn:turn.example:3478'],
  username: `${expiryS}:7`,
  credential: 'c',
});

describe('IceServerSource', () => {
  it('fetches once for concurrent connections and reuses the answer until maxAgeMs', async () => {
    const stun = [{ urls: ['stun:stun.example:3478'] }];
    const t = source([stun]);
    const [a, b] = await Promise.all([t.s.get(), t.s.get()]);
    assert.deepEqual([a, b, t.calls()], [stun, stun, 1]);
    t.advance(599_000);
    await t.s.get();
    assert.equal(t.calls(), 1);
    t.advance(2000);
    await t.s.get();
    assert.equal(t.calls(), 2);
  });

  it('fetches again once half the remaining lifetime of a TURN credential has passed', async () => {
    const expiryS = T0 / 1000 + 120; // two minutes left: fresh for one
    const t = source([[turn(expiryS)], [turn(expiryS + 3600)]]);
    assert.equal((await t.s.get())[0]?.username, `${expiryS}:7`);
    t.advance(59_000);
    await t.s.get();
    assert.equal(t.calls(), 1);
    t.advance(2000);
    assert.equal((await t.s.get())[0]?.username, `${expiryS + 3600}:7`);
    assert.equal(t.calls(), 2);
  });

  it('a failed fetch gives no servers (host candidates only) and is retried later', async () => {
    const t = source([new Error('404'), [turn(T0 / 1000 + 86_400)]], 1000);
    assert.deepEqual(await t.s.get(), []);
    t.advance(1001);
    assert.equal((await t.s.get()).length, 1);
  });
});
