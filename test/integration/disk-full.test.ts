import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { login, type RestCall, restClient } from '../support/clients.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { mountSmallTmpfs, type SmallTmpfs } from '../support/tmpfs.ts';

const TMPFS_BYTES = 4 * 1024 * 1024;
/** Posts tried once the disk is full before one must have been refused (WAL space may be reused). */
const MAX_POSTS_UNTIL_REFUSED = 400;
const MESSAGE = 'x'.repeat(500);

interface Post {
  text: string;
  status: number;
  message: string;
}

async function postChat(call: RestCall, token: string, roomId: number, text: string): Promise<Post> {
  const res = await call<{ message?: string }>('POST', `/chats/${roomId}`, { token, body: { data: text } });
  return { text, status: res.status, message: res.body.message ?? '' };
}

async function storedTexts(call: RestCall, token: string, roomId: number): Promise<Set<string>> {
  const texts = new Set<string>();
  for (let skip = 0; skip < 100_000; skip += 100) {
    const res = await call<{ messages: Array<{ data: string }> }>(
      'GET',
      `/chats/${roomId}?skip=${skip}&limit=100`,
      { token },
    );
    assert.equal(res.status, 200, 'reads are served');
    for (const m of res.body.messages) texts.add(m.data);
    if (res.body.messages.length < 100) break;
  }
  return texts;
}

describe('a full disk under the embedded database (SQLite on a small tmpfs)', () => {
  it('writes get 507 with a clear message, reads go on, nothing acknowledged is lost, writes resume once space is freed, and the file passes integrity_check', async (t) => {
    const fs: SmallTmpfs = await mountSmallTmpfs(TMPFS_BYTES);
    let server: TestServer | undefined;
    try {
      server = await startTestServer({ DATA_DIR: fs.dir });
      const call = restClient(server.baseUrl);
      const alice = await login(call, 'full-alice', 'Alice');
      const room = await call<{ id: number }>('POST', '/rooms', {
        token: alice.token,
        body: { title: 'Full' },
      });
      assert.equal(room.status, 201);
      const posts: Post[] = [];
      for (let i = 0; i < 5; i++) posts.push(await postChat(call, alice.token, room.body.id, `before-${i}`));
      assert.deepEqual(
        posts.map((p) => p.status),
        [201, 201, 201, 201, 201],
      );

      await fs.fill();
      let refused: Post | undefined;
      for (let i = 0; i < MAX_POSTS_UNTIL_REFUSED && !refused; i++) {
        const p = await postChat(call, alice.token, room.body.id, `full-${i}-${MESSAGE}`);
        posts.push(p);
        if (p.status !== 201) refused = p;
      }
      t.diagnostic(
        `${posts.length - 6} posts stored after the disk filled (reused WAL pages) before the first refusal`,
      );
      assert.ok(refused, `a post was refused within ${MAX_POSTS_UNTIL_REFUSED} once the disk was full`);
      assert.deepEqual(
        { status: refused.status, message: refused.message },
        { status: 507, message: 'the database storage is full: nothing was stored' },
      );
      // Still full: the next post, a new room and a new user are refused the same way.
      const again = await postChat(call, alice.token, room.body.id, `again-${MESSAGE}`);
      posts.push(again);
      assert.equal(again.status, 507);
      const room2 = await call('POST', '/rooms', {
        token: alice.token,
        body: { title: `Full 2 ${MESSAGE.slice(0, 200)}` },
      });
      assert.equal(room2.status, 507, JSON.stringify(room2.body));

      // Reads are served, with every message that was acknowledged.
      const acked = posts.filter((p) => p.status === 201).map((p) => p.text);
      const whileFull = await storedTexts(call, alice.token, room.body.id);
      assert.deepEqual(
        acked.filter((t) => !whileFull.has(t)),
        [],
        'acknowledged messages are all readable while the disk is full',
      );
      const ready = await fetch(`${server.baseUrl}/readyz`);
      assert.equal(ready.status, 200, 'still ready: it serves reads');

      await fs.free();
      const after = await postChat(call, alice.token, room.body.id, 'after');
      assert.equal(after.status, 201, `writes resume once space is freed: ${after.message}`);
      acked.push(after.text);
      const room3 = await call('POST', '/rooms', { token: alice.token, body: { title: 'Freed' } });
      assert.equal(room3.status, 201);
      const stored = await storedTexts(call, alice.token, room.body.id);
      assert.deepEqual(
        acked.filter((t) => !stored.has(t)),
        [],
        'every acknowledged message is stored',
      );
      const refusedTexts = posts.filter((p) => p.status !== 201).map((p) => p.text);
      assert.deepEqual(
        refusedTexts.filter((t) => stored.has(t)),
        [],
        'a refused message was not stored',
      );

      await server.close();
      server = undefined;
      const db = new DatabaseSync(path.join(fs.dir, 'bbmeet.sqlite'), { readOnly: true });
      try {
        const rows = db.prepare('PRAGMA integrity_check').all();
        assert.deepEqual(
          rows.map((r) => r.integrity_check),
          ['ok'],
        );
      } finally {
        db.close();
      }
    } finally {
      await server?.close();
      await fs.close();
    }
  });
});
