import assert from 'node:assert/strict';
import { login, restClient } from '../support/clients.ts';
import { API_KEY } from '../support/server.ts';

/**
 * Chat posted during a fault, as a Waterbus client posts it (REST `POST /chats/:roomId`), and the
 * check that nothing acknowledged was lost: a post is acknowledged only by a 2xx (the message is
 * stored); every other post must have been told so clearly (503 with Retry-After, or the
 * connection refused or cut while an instance dies), never left hanging.
 */

/** Each post is answered within this or counts as a hang. */
const POST_BOUND_MS = 6_000;
const POST_INTERVAL_MS = 100;
const PAGE_SIZE = 100;
/** What a connection refused, reset or closed by a dying instance shows as (the cause's code). */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
/** A history longer than this is a runaway, not a test's chat. */
const MAX_HISTORY = 10_000;
/**
 * The poster stops by itself after this many posts (2 minutes) even if nobody calls stop(): a test
 * that fails between start and stop must not keep its file (and CI) running forever.
 */
const MAX_POSTS = 1200;

export interface ChatPost {
  text: string;
  /** When it was sent (ms since the epoch). */
  sentAt: number;
  /**
   * The HTTP status, `connection` (refused or cut), `hang` (no answer within the bound) or
   * `failed` (any other client-side failure).
   */
  outcome: number | 'connection' | 'hang' | 'failed';
  retryAfter: string | null;
  detail: string;
}

/** A chat author with its own room: the room owner (a member), as an app user who opened the call. */
export interface ChatRoom {
  roomId: number;
  code: string;
  token: string;
}

/** Logs a user in on `baseUrl` and creates the room `code` (the demo pages then join it by its code). */
export async function chatRoom(baseUrl: string, code: string): Promise<ChatRoom> {
  const call = restClient(baseUrl);
  const user = await login(call, `${code}-chat`, 'Chat');
  const room = await call<{ id: number }>('POST', '/guest/rooms', { token: user.token, body: { code } });
  assert.equal(room.status, 200, `room ${code}: ${JSON.stringify(room.body)}`);
  return { roomId: room.body.id, code, token: user.token };
}

async function postOnce(baseUrl: string, room: ChatRoom, text: string): Promise<ChatPost> {
  const sentAt = Date.now();
  try {
    const res = await fetch(`${baseUrl}/busapi/v3/chats/${room.roomId}`, {
      method: 'POST',
      headers: {
        'x-api-key': API_KEY,
        authorization: `Bearer ${room.token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ data: text }),
      signal: AbortSignal.timeout(POST_BOUND_MS),
    });
    const body = await res.text();
    return {
      text,
      sentAt,
      outcome: res.status,
      retryAfter: res.headers.get('retry-after'),
      detail: body.slice(0, 200),
    };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError')
      return { text, sentAt, outcome: 'hang', retryAfter: null, detail: e.message };
    const code = e.cause?.code ?? '';
    return {
      text,
      sentAt,
      outcome: CONNECTION_CODES.has(code) ? 'connection' : 'failed',
      retryAfter: null,
      detail: code || e.cause?.message || e.message,
    };
  }
}

/**
 * Posts `<label>-<n>` every 100 ms, each without waiting for the one before (a hanging request
 * does not slow the others), to the URL `target()` names at that moment (the load balancer or an
 * instance). `answered` lists the posts answered so far; `stop(atLeast)` sends until `atLeast`
 * posts were sent, then resolves with every post's outcome, in order.
 */
export function startChat(room: ChatRoom, label: string, target: () => string) {
  const posts: Promise<ChatPost>[] = [];
  const answered: ChatPost[] = [];
  let posting = true;
  const loop = (async () => {
    for (let n = 0; posting && n < MAX_POSTS; n++) {
      posts.push(
        postOnce(target(), room, `${label}-${n}`).then((post) => {
          answered.push(post);
          return post;
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, POST_INTERVAL_MS));
    }
  })();
  return {
    answered,
    async stop(atLeast = 0): Promise<ChatPost[]> {
      while (posts.length < Math.min(atLeast, MAX_POSTS))
        await new Promise((resolve) => setTimeout(resolve, POST_INTERVAL_MS));
      posting = false;
      await loop;
      return Promise.all(posts);
    },
  };
}

/** Every message text of the room (read page by page, newest first), duplicates kept. */
async function history(baseUrl: string, room: ChatRoom): Promise<string[]> {
  const call = restClient(baseUrl);
  const texts: string[] = [];
  for (let skip = 0; skip < MAX_HISTORY; skip += PAGE_SIZE) {
    const res = await call<{ messages: Array<{ data: string }> }>(
      'GET',
      `/chats/${room.roomId}?skip=${skip}&limit=${PAGE_SIZE}`,
      { token: room.token },
    );
    assert.equal(res.status, 200, `chat history: ${JSON.stringify(res.body)}`);
    texts.push(...res.body.messages.map((m) => m.data));
    if (res.body.messages.length < PAGE_SIZE) break;
  }
  return texts;
}

/** Answered 2xx: the message is stored. */
export const acknowledged = (p: ChatPost) =>
  typeof p.outcome === 'number' && p.outcome >= 200 && p.outcome < 300;

/** A clear refusal: 503 with a positive Retry-After, or (when an instance dies) the connection refused or cut. */
const clearError = (p: ChatPost, cutConnections: boolean) =>
  (cutConnections && p.outcome === 'connection') || (p.outcome === 503 && Number(p.retryAfter) > 0);

/**
 * Asserts that every post was acknowledged or clearly refused (none hung; a refused or cut
 * connection counts as clear only with `cutConnections`, when the test kills an instance), that
 * every acknowledged one is in the room's history exactly once, and returns a one-line summary.
 */
export async function assertNoAcknowledgedChatLost(
  baseUrl: string,
  room: ChatRoom,
  posts: ChatPost[],
  options: { cutConnections?: boolean } = {},
): Promise<string> {
  const unclear = posts.filter((p) => !acknowledged(p) && !clearError(p, options.cutConnections ?? false));
  assert.deepEqual(unclear, [], 'every chat post acknowledged (2xx) or clearly refused, none hanging');
  const stored = await history(baseUrl, room);
  const counts = new Map<string, number>();
  for (const text of stored) counts.set(text, (counts.get(text) ?? 0) + 1);
  const acked = posts.filter(acknowledged);
  const wrong = acked.filter((p) => counts.get(p.text) !== 1).map((p) => [p.text, counts.get(p.text) ?? 0]);
  assert.deepEqual(wrong, [], 'every acknowledged chat message stored exactly once ([text, copies])');
  const refused = posts.filter((p) => !acknowledged(p));
  const kinds = [...new Set(refused.map((p) => `${p.outcome} ${p.detail.slice(0, 40)}`))];
  return `${posts.length} chat posts: ${acked.length} acknowledged and stored once, ${refused.length} refused${kinds.length > 0 ? ` (${kinds.join('; ')})` : ''}`;
}
