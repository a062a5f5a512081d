/// <reference lib="dom" />
import type { BrowserContext, Page } from 'playwright-core';
import { eventually, openDemo } from '../../../../test/sdk/demo-page.ts';
import { login, restClient } from '../../../../test/support/clients.ts';
import { startTestServer, type TestServer } from '../../../../test/support/server.ts';
import { createEgress } from '../../src/index.ts';

/**
 * A call in Chromium for the egress end-to-end tests: the server with egress on, a room created
 * by a REST user (its host, who may start egresses), and demo pages joining it by its code.
 */

export interface HostedRoom {
  roomId: number;
  code: string;
  token: string;
}

/** What the egress routes answer: the server's EgressInfo plus absolute `urls`. */
export interface EgressReply {
  egressId: string;
  kind: string;
  state: string;
  reason: string | null;
  files: string[];
  playlist: string | null;
  urls: string[];
}

/** The embedded server with media and egress (what `bbmeet start --egress` runs). */
export function startEgressServer(env: Record<string, string> = {}): Promise<TestServer> {
  return startTestServer({ EGRESS_ENABLED: 'true', ...env }, { media: true, egress: createEgress });
}

/** Logs a user in and creates the room `code`: that user is the room's host. */
export async function hostRoom(baseUrl: string, code: string): Promise<HostedRoom> {
  const call = restClient(baseUrl);
  const user = await login(call, `${code}-host`, 'Host');
  const room = await call<{ id: number }>('POST', '/guest/rooms', { token: user.token, body: { code } });
  if (room.status !== 200) throw new Error(`room ${code}: ${room.status} ${JSON.stringify(room.body)}`);
  return { roomId: room.body.id, code, token: user.token };
}

/**
 * The demo page joining `room` and publishing its fake camera and microphone in `codec` (small,
 * without simulcast: several pages and ffmpeg share two cores); resolves with the page and the
 * publisher's participant id.
 */
export async function publishDemo(
  context: BrowserContext,
  baseUrl: string,
  o: { room: string; name: string; codec?: 'H264' | 'VP8' },
): Promise<{ page: Page; participantId: string }> {
  const page = await openDemo(context, baseUrl, { ...o, simulcast: false });
  const handle = await page.waitForFunction(
    () =>
      (window as unknown as { bbmeet: { room: { localParticipant: { id: string } } | null } }).bbmeet.room
        ?.localParticipant.id,
    null,
    { timeout: 10_000 },
  );
  return { page, participantId: String(await handle.jsonValue()) };
}

/** The host's egress calls on the REST API. */
export function egressApi(baseUrl: string, room: HostedRoom) {
  const call = restClient(baseUrl);
  const base = `/rooms/${room.roomId}/egress`;
  return {
    /**
     * Starts an egress. A page that has joined may not have published yet: a participant's egress
     * is asked again (bounded) while the server answers that it publishes nothing.
     */
    async start(body: { kind: string; participantId?: string }): Promise<EgressReply> {
      const res = await eventually(
        () => call<EgressReply>('POST', base, { token: room.token, body }),
        (r) => !(r.status === 404 && body.participantId !== undefined),
        `participant ${body.participantId} publishing`,
        15_000,
      );
      if (res.status !== 201) throw new Error(`egress start: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async stop(egressId: string): Promise<EgressReply> {
      const res = await call<EgressReply>('DELETE', `${base}/${egressId}`, { token: room.token });
      if (res.status !== 200) throw new Error(`egress stop: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async list(): Promise<EgressReply[]> {
      const res = await call<EgressReply[]>('GET', base, { token: room.token });
      if (res.status !== 200) throw new Error(`egress list: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    /** Polls the list until the egress is in `state` (or fails with what it was). */
    async waitState(egressId: string, state: string, timeoutMs = 20_000): Promise<EgressReply> {
      const list = await eventually(
        () => this.list(),
        (l) => l.some((e) => e.egressId === egressId && e.state === state),
        `egress ${egressId} ${state}`,
        timeoutMs,
      );
      return list.find((e) => e.egressId === egressId)!;
    },
  };
}
