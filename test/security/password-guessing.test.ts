import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { RoomPasswordGuard } from '../../src/api/room-password-guard.ts';
import { type Api, type Json, login, type Session, startApi } from '../api/harness.ts';

/**
 * Finding 7, "room passwords guessable at ~40 tries/s": no lockout (the right password still
 * worked after 145 wrong ones) and no log of the failures at the default level.
 */
describe('security: password guessing (finding 7)', () => {
  const clock = { ms: Date.parse('2025-07-23T10:00:00Z'), nowMs: () => clock.ms };
  const logs: Json[] = [];
  let api: Api;
  let alice: Session;
  let room: Json;

  before(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
        done();
      },
    });
    api = await startApi({
      passwordGuard: new RoomPasswordGuard({ clock }),
      logger: pino({ level: 'info' }, sink),
    });
    alice = await login(api, 'guess-alice');
    room = (
      await api.call('POST', '/rooms', { token: alice.token, body: { title: 'Vault', password: 'right' } })
    ).body;
  });
  after(() => api.close());

  const join = (s: Session, password: string) =>
    api.call('POST', `/rooms/${room.id}/join`, { token: s.token, body: { password } });

  async function guesser(name: string): Promise<Session> {
    const s = await login(api, name);
    await api.call('GET', `/rooms/${room.code}`, { token: s.token });
    return s;
  }

  it('after a few wrong passwords a user gets 429 with Retry-After, even with the right password', async () => {
    const mallory = await guesser('guess-mallory');
    const statuses: number[] = [];
    for (let i = 0; i < 145; i++) statuses.push((await join(mallory, `wrong-${i}`)).status);
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401], 'a few free tries');
    assert.ok(
      statuses.slice(5).every((s) => s === 429),
      `then throttled: ${statuses.slice(5, 12)}`,
    );
    const right = await join(mallory, 'right');
    assert.equal(right.status, 429, 'the right password waits too');
    const retryAfter = Number(right.headers.get('retry-after'));
    assert.ok(retryAfter >= 1, `Retry-After: ${retryAfter}`);
    clock.ms += retryAfter * 1000;
    const later = await join(mallory, 'right');
    assert.equal(later.status, 201, later.text);
    assert.equal((await join(mallory, 'wrong-again')).status, 401, 'a success resets the count');
  });

  it('waits double with each failure past the free tries', async () => {
    const eve = await guesser('guess-eve');
    for (let i = 0; i < 5; i++) assert.equal((await join(eve, 'no')).status, 401);
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await join(eve, 'no');
      assert.equal(res.status, 429, res.text);
      waits.push(Number(res.headers.get('retry-after')));
      clock.ms += waits.at(-1)! * 1000;
    }
    assert.deepEqual(waits, [1, 2, 4]);
  });

  it('many users guessing one room throttle the room for non-members, not for its members', async () => {
    clock.ms += 60 * 60_000;
    let throttled = false;
    for (let u = 0; u < 40 && !throttled; u++) {
      const s = await guesser(`guess-crowd-${u}`);
      for (let i = 0; i < 3 && !throttled; i++) throttled = (await join(s, `crowd-${i}`)).status === 429;
    }
    assert.ok(throttled, 'the room is throttled');
    const fresh = await guesser('guess-fresh');
    const res = await join(fresh, 'right');
    assert.equal(res.status, 429, 'a new user with the right password waits as well');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    const host = await join(alice, '');
    assert.equal(host.status, 201, 'members need no password and are never throttled');
  });

  it('failures are logged at warn with user, room and IP, never the password', () => {
    const failures = logs.filter((l) => l.level === 40 && l.roomId === room.id);
    assert.ok(failures.length > 0, 'warn lines');
    for (const line of failures) {
      assert.equal(typeof line.userId, 'number');
      assert.equal(typeof line.ip, 'string');
      assert.ok(!JSON.stringify(line).includes('wrong-1'), 'no password in the log');
    }
    assert.ok(
      failures.some((l) => /throttled/.test(l.msg)),
      'throttled attempts are logged',
    );
    assert.ok(
      failures.some((l) => /wrong room password/.test(l.msg)),
      'wrong passwords are logged',
    );
  });
});
