import assert from 'node:assert/strict';
import { type Api, type CallOptions, type Json, login, type Session, snapshot, startApi } from './harness.ts';

/**
 * A server with two rooms hosted by alice (`open` without password, `locked` with password "pw"),
 * bob as an attendee of `open`, carol as an outsider and one message of alice in `open`; plus
 * `rejected`, which checks a refused request and that it changed nothing.
 */
export interface Fixture {
  api: Api;
  alice: Session;
  bob: Session;
  carol: Session;
  open: Json;
  locked: Json;
  aliceMessage: Json;
  /**
   * Sends the request and checks the status and the `{message}` body, and that the store snapshot
   * (users, rooms, members, participants, messages, room lists) and the broadcasts are unchanged.
   */
  rejected(
    method: string,
    path: string,
    options: CallOptions,
    status: number,
    message: RegExp | string,
  ): Promise<void>;
}

export async function startFixture(): Promise<Fixture> {
  const api = await startApi();
  const [alice, bob, carol] = [
    await login(api, 'ext-alice'),
    await login(api, 'ext-bob'),
    await login(api, 'ext-carol'),
  ];
  const post = async (body: Json) => (await api.call('POST', '/rooms', { token: alice.token, body })).body;
  const open = await post({ title: 'Open' });
  const locked = await post({ title: 'Locked', password: 'pw' });
  await api.call('POST', `/rooms/${open.id}/members`, { token: alice.token, body: { userId: bob.id } });
  const sent = await api.call('POST', `/chats/${open.id}`, { token: alice.token, body: { data: 'hi' } });
  const state = () => snapshot(api.store, [alice.id, bob.id, carol.id], [open.id, locked.id]);
  async function rejected(
    method: string,
    path: string,
    options: CallOptions,
    status: number,
    message: RegExp | string,
  ) {
    const before = await state();
    const broadcasts = api.broadcasts.length;
    const res = await api.call(method, path, options);
    const where = `${method} ${path} → ${res.status} ${res.text}`;
    assert.equal(res.status, status, where);
    assert.deepEqual(Object.keys(res.body), ['message'], where);
    if (typeof message === 'string') assert.equal(res.body.message, message, where);
    else assert.match(res.body.message, message, where);
    assert.deepEqual(await state(), before, `${where}: the store changed`);
    assert.equal(api.broadcasts.length, broadcasts, `${where}: something was broadcast`);
  }
  return { api, alice, bob, carol, open, locked, aliceMessage: sent.body, rejected };
}
