import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Socket } from 'socket.io-client';
import type { ScriptedPublisher } from '../fakes/scripted-publisher.ts';
import { nextEvent } from '../support/clients.ts';

/** Running `bbmeet` as a child process, and socket helpers shared by the admin CLI tests. */

const BIN = path.resolve('bin/bbmeet.mjs');

/** Runs `bbmeet args…` with only PATH, HOME and `env` (no .env of the working directory is read). */
export async function bbmeet(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args, '--env-file', '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

// biome-ignore lint/suspicious/noExplicitAny: the admin commands' JSON replies, checked key by key.
export type Json = any;

/**
 * The admin commands against a server (`baseUrl()` read at each call: the server starts later)
 * with its secret: `run` gives the exit code and output, `json` the `--json` reply (exit 0 asserted).
 */
export function adminCli(baseUrl: () => string, secret: string) {
  const run = (...args: string[]) => bbmeet([...args, '--url', baseUrl()], { AUTH_IDENTITY_SECRET: secret });
  const json = async (...args: string[]): Promise<Json> => {
    const r = await run(...args, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Json;
  };
  return { run, json };
}

/** Takes the socket's participant into the room without media (a join, as after a reconnect). */
export async function joinWithoutMedia(socket: Socket, roomId: string, participantId: string): Promise<void> {
  const ack = (await socket.timeout(10_000).emitWithAck('room.reconnect', { roomId, participantId })) as {
    restored?: boolean;
  };
  assert.equal(ack.restored, true);
}

/**
 * Publishes `publisher`'s simulcast VP8 and Opus (real SRTP) as the socket's participant through
 * the SFU; resolves once `watcher` (another socket of the room) hears it announced.
 */
export async function publishMedia(
  socket: Socket,
  publisher: ScriptedPublisher,
  ref: { roomId: string; participantId: string },
  watcher: Socket,
): Promise<void> {
  const answered = nextEvent<{ sdp: string }>(socket, 'room.publish', 10_000);
  socket.emit('room.publish', {
    sdp: publisher.offer,
    ...ref,
    isVideoEnabled: true,
    isAudioEnabled: true,
    isE2eeEnabled: false,
    totalTracks: 2,
    connectionType: 1,
  });
  const announced = nextEvent(watcher, 'room.new_participant', 20_000);
  const startedAt = Date.now();
  const answer = await answered;
  const answeredMs = Date.now() - startedAt;
  await publisher.connect(answer.sdp);
  const connectedMs = Date.now() - startedAt;
  publisher.start();
  // A timeout says which step took the time (seen once in a fresh-clone run, not reproduced).
  await announced.catch((err: Error) => {
    throw new Error(
      `${err.message} (room.publish answered after ${answeredMs} ms, ICE and DTLS done after ${connectedMs} ms, media sent from then on)`,
      { cause: err },
    );
  });
}
