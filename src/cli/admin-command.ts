import { parseArgs } from 'node:util';
import { mergeEnvFile } from '../config.ts';
import { participantsTable, roomsTable } from './admin-output.ts';

/**
 * The operator's commands (docs/admin.md): `bbmeet rooms`, `participants`, `mute`,
 * `remove-participant`, `end-room`, `update-participant`, each one call of the admin REST API of a
 * running server with the server secret (AUTH_IDENTITY_SECRET), as LiveKit's `lk room` commands.
 */

const DEFAULT_PORT = 5998;

interface Request {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
}

interface Flags {
  audio?: boolean;
  video?: boolean;
  metadata?: string;
}

interface AdminCommand {
  usage: string;
  summary: string;
  /** Names of the positional arguments, all required. */
  args: string[];
  /** Lines of the command's own options in its help. */
  options?: string[];
  request(args: string[], flags: Flags): Request | string;
  /** The readable output of a successful reply. */
  print(body: unknown, args: string[]): string;
}

const room = (ref: string) => `/admin/rooms/${encodeURIComponent(ref)}`;
const participant = (args: string[]) => `${room(args[0]!)}/participants/${encodeURIComponent(args[1]!)}`;

export const ADMIN_COMMANDS: Record<string, AdminCommand> = {
  rooms: {
    usage: 'bbmeet rooms',
    summary: 'list the live rooms: id, code, title, participant count, the SFU node hosting each',
    args: [],
    request: () => ({ method: 'GET', path: '/admin/rooms' }),
    print: (body) => roomsTable(body),
  },
  participants: {
    usage: 'bbmeet participants <room>',
    summary:
      "a room's participants, their tracks (kind, source, codec, layers, who receives which layer) and rates",
    args: ['room'],
    request: (args) => ({ method: 'GET', path: `${room(args[0]!)}/participants` }),
    print: (body) => participantsTable(body),
  },
  mute: {
    usage: 'bbmeet mute <room> <participant> --audio|--video',
    summary: "mute a participant's audio and/or video: the server stops forwarding it, the room is told",
    args: ['room', 'participant'],
    options: ['  --audio             mute the microphone', '  --video             mute the camera'],
    request: (args, flags) =>
      flags.audio || flags.video
        ? {
            method: 'POST',
            path: `${participant(args)}/mute`,
            body: { ...(flags.audio && { audio: true }), ...(flags.video && { video: true }) },
          }
        : '--audio or --video (or both): required',
    print: (_body, args) => `Muted participant ${args[1]} in room ${args[0]}.`,
  },
  'remove-participant': {
    usage: 'bbmeet remove-participant <room> <participant>',
    summary: 'remove a participant: its client is told, its media stops, the room sees it leave',
    args: ['room', 'participant'],
    request: (args) => ({ method: 'DELETE', path: participant(args) }),
    print: (_body, args) => `Removed participant ${args[1]} from room ${args[0]}.`,
  },
  'end-room': {
    usage: 'bbmeet end-room <room>',
    summary: 'end the meeting: every participant removed (the room itself stays and can be joined again)',
    args: ['room'],
    request: (args) => ({ method: 'POST', path: `${room(args[0]!)}/end` }),
    print: (body, args) =>
      `Ended room ${args[0]}: ${(body as { removed: string[] }).removed.length} participant(s) removed.`,
  },
  'update-participant': {
    usage: 'bbmeet update-participant <room> <participant> --metadata <json>',
    summary:
      "set a participant's metadata (JSON text, at most 4096 bytes); the room gets room.participant_metadata",
    args: ['room', 'participant'],
    options: ['  --metadata <json>   the metadata (required)'],
    request: (args, flags) =>
      flags.metadata === undefined
        ? '--metadata: required'
        : { method: 'PUT', path: `${participant(args)}/metadata`, body: { metadata: flags.metadata } },
    print: (_body, args) => `Updated the metadata of participant ${args[1]} in room ${args[0]}.`,
  },
};

const COMMON_OPTIONS = [
  '  --url <url>         the server (default http://127.0.0.1:<APP_PORT>, APP_PORT default 5998)',
  '  --json              print the server’s JSON reply instead of a table',
  '  --env-file <path>   read AUTH_IDENTITY_SECRET and APP_PORT from this file (default: .env when present)',
  '  -h, --help          this help',
];

export function adminHelp(name: string): string {
  const c = ADMIN_COMMANDS[name]!;
  return [
    `${c.usage}: ${c.summary}.`,
    '',
    'Calls the admin REST API of a running server (docs/admin.md) with the server secret',
    'AUTH_IDENTITY_SECRET from the environment. Rooms are named by id or code.',
    '',
    'Options:',
    ...(c.options ?? []),
    ...COMMON_OPTIONS,
  ].join('\n');
}

/** `bbmeet <admin command> …`: 0 done, 1 the server refused or could not be reached, 2 bad usage. */
export async function runAdminCommand(name: string, argv: string[]): Promise<number> {
  const command = ADMIN_COMMANDS[name]!;
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    return usageError(name, err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${adminHelp(name)}\n`);
    return 0;
  }
  if (positionals.length !== command.args.length)
    return usageError(name, `expected ${command.args.map((a) => `<${a}>`).join(' ') || 'no arguments'}`);
  const request = command.request(positionals, values);
  if (typeof request === 'string') return usageError(name, request);
  const env = mergeEnvFile(process.env, values['env-file'] ?? '.env');
  const secret = env.AUTH_IDENTITY_SECRET?.trim();
  if (!secret) return fail(name, 'AUTH_IDENTITY_SECRET: not set (the server-only secret of the admin API)');
  const base = values.url ?? `http://127.0.0.1:${env.APP_PORT?.trim() || DEFAULT_PORT}`;
  const reply = await send(base, request, secret).catch((err: unknown) => err as Error);
  if (reply instanceof Error) return fail(name, `cannot reach ${base}: ${reply.message}`);
  if (reply.status >= 400) return fail(name, `${reply.status} ${messageOf(reply.body)}`);
  process.stdout.write(
    `${values.json ? JSON.stringify(reply.body, null, 2) : command.print(reply.body, positionals)}\n`,
  );
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      url: { type: 'string' },
      json: { type: 'boolean' },
      'env-file': { type: 'string' },
      audio: { type: 'boolean' },
      video: { type: 'boolean' },
      metadata: { type: 'string' },
    },
  });
}

async function send(
  base: string,
  request: Request,
  secret: string,
): Promise<{ status: number; body: unknown }> {
  const url = new URL(`/busapi/v3${request.path}`, base);
  const res = await fetch(url, {
    method: request.method,
    headers: {
      authorization: `Bearer ${secret}`,
      ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: request.body === undefined ? undefined : JSON.stringify(request.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

function messageOf(body: unknown): string {
  if (body && typeof body === 'object' && 'message' in body)
    return String((body as { message: unknown }).message);
  return typeof body === 'string' ? body : JSON.stringify(body);
}

function usageError(name: string, message: string): number {
  process.stderr.write(
    `bbmeet ${name}: ${message}\nUsage: ${ADMIN_COMMANDS[name]!.usage} (bbmeet ${name} --help)\n`,
  );
  return 2;
}

function fail(name: string, message: string): number {
  process.stderr.write(`bbmeet ${name}: ${message}\n`);
  return 1;
}
