import { parseArgs } from 'node:util';
import { mergeEnvFile } from '../config.ts';
import { egressLine, egressTable, participantsTable, roomsTable } from './admin-output.ts';

/**
 * The operator's commands (docs/admin.md): `bbmeet rooms`, `participants`, `mute`,
 * `remove-participant`, `end-room`, `update-participant`, `egress`, `start-egress`, `stop-egress`,
 * each one call of the admin REST API of a running server with the server secret
 * (AUTH_IDENTITY_SECRET), as LiveKit's `lk room` and `lk egress` commands.
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
  kind?: string;
  participant?: string;
  layer?: string;
}

interface AdminCommand {
  usage: string;
  summary: string;
  /** Names of the positional arguments, all required. */
  args: string[];
  /** Lines of the command's own options in its help. */
  options?: string[];
  /** The egress routes name a room by its id: a code given is looked up first. */
  roomById?: boolean;
  request(args: string[], flags: Flags): Request | string;
  /** The readable output of a successful reply. */
  print(body: unknown, args: string[]): string;
}

const room = (ref: string) => `/admin/rooms/${encodeURIComponent(ref)}`;
const EGRESS_KINDS = ['hls', 'recording', 'moq'];

/** The start body of `start-egress`, or what is wrong with its flags. */
function startEgressBody(flags: Flags): Record<string, unknown> | string {
  if (!flags.kind || !EGRESS_KINDS.includes(flags.kind)) return `--kind ${EGRESS_KINDS.join('|')}: required`;
  if (flags.participant !== undefined && !/^\d+$/.test(flags.participant))
    return '--participant: a participant id (a number)';
  if (flags.layer !== undefined && !/^(-1|[0-2])$/.test(flags.layer)) return '--layer: -1, 0, 1 or 2';
  return {
    kind: flags.kind,
    ...(flags.participant !== undefined && { participantId: Number(flags.participant) }),
    ...(flags.layer !== undefined && { layer: Number(flags.layer) }),
  };
}
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
  egress: {
    usage: 'bbmeet egress <room>',
    summary: "a room's egresses (HLS, recordings, MoQ), running and recently ended, with their URLs",
    args: ['room'],
    roomById: true,
    request: (args) => ({ method: 'GET', path: `${room(args[0]!)}/egress` }),
    print: (body) => egressTable(body),
  },
  'start-egress': {
    usage: 'bbmeet start-egress <room> --kind hls|recording|moq [--participant <id>] [--layer <n>]',
    summary: 'start an egress of a room (or of one participant): HLS, a recording or a MoQ broadcast',
    args: ['room'],
    roomById: true,
    options: [
      '  --kind <kind>       hls, recording or moq (required)',
      '  --participant <id>  one participant’s tracks (default: the whole room)',
      '  --layer <n>         simulcast layer, 0 the lowest (default -1: the highest sent)',
    ],
    request: (args, flags) => {
      const body = startEgressBody(flags);
      return typeof body === 'string' ? body : { method: 'POST', path: `${room(args[0]!)}/egress`, body };
    },
    print: (body) => `Started ${egressLine(body)}`,
  },
  'stop-egress': {
    usage: 'bbmeet stop-egress <room> <egress>',
    summary: 'stop an egress; answers once its files are finished, with their URLs',
    args: ['room', 'egress'],
    roomById: true,
    request: (args) => ({
      method: 'DELETE',
      path: `${room(args[0]!)}/egress/${encodeURIComponent(args[1]!)}`,
    }),
    print: (body) => `Stopped ${egressLine(body)}`,
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
  // Checked before anything is sent; built again once a room code became its id.
  const checked = command.request(positionals, values);
  if (typeof checked === 'string') return usageError(name, checked);
  const env = mergeEnvFile(process.env, values['env-file'] ?? '.env');
  const secret = env.AUTH_IDENTITY_SECRET?.trim();
  if (!secret) return fail(name, 'AUTH_IDENTITY_SECRET: not set (the server-only secret of the admin API)');
  const base = values.url ?? `http://127.0.0.1:${env.APP_PORT?.trim() || DEFAULT_PORT}`;
  if (command.roomById && !/^\d+$/.test(positionals[0]!)) {
    const id = await roomIdOf(base, positionals[0]!, secret);
    if (id instanceof Error) return fail(name, id.message);
    positionals[0] = id;
  }
  const request = command.request(positionals, values) as Request;
  const reply = await send(base, request, secret).catch((err: unknown) => err as Error);
  if (reply instanceof Error) return fail(name, `cannot reach ${base}: ${reply.message}`);
  if (reply.status >= 400) return fail(name, `${reply.status} ${messageOf(reply.body)}`);
  process.stdout.write(
    `${values.json ? JSON.stringify(reply.body, null, 2) : command.print(reply.body, positionals)}\n`,
  );
  return 0;
}

/** The id of the room a code names (the room's participants reply carries it), or why not. */
async function roomIdOf(base: string, code: string, secret: string): Promise<string | Error> {
  const reply = await send(base, { method: 'GET', path: `${room(code)}/participants` }, secret).catch(
    (err: unknown) => new Error(`cannot reach ${base}: ${(err as Error).message}`),
  );
  if (reply instanceof Error) return reply;
  if (reply.status >= 400) return new Error(`${reply.status} ${messageOf(reply.body)}`);
  return String((reply.body as { room: { id: number } }).room.id);
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
      kind: { type: 'string' },
      participant: { type: 'string' },
      layer: { type: 'string' },
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
