import { flushCompileCache } from 'node:module';
import { constants as osConstants } from 'node:os';
import { parseArgs } from 'node:util';
import { MAX_IDENTITY_TTL_S, mintIdentityAssertion } from './api/identity-assertion.ts';
import { ADMIN_COMMANDS, runAdminCommand } from './cli/admin-command.ts';
import { runTokenCommand, TOKEN_HELP } from './cli/token-command.ts';
import { type Config, ConfigError, loadConfig, mergeEnvFile } from './config.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { installProcessFaultHandlers } from './lib/process-faults.ts';
import { prepareStartupMemoryRelease, releaseStartupMemory } from './lib/startup-memory.ts';
import { EgressNotInstalledError, loadEgress } from './roles/egress-loader.ts';
import { startEmbedded } from './roles/embedded.ts';
import type { CreateEgress } from './sfu/egress-backend.ts';

const VERSION = '0.1.0';

const HELP: Record<string, string> = {
  main: `bbmeet ${VERSION}: self-hosted video-conferencing server (Waterbus-compatible)

Usage: bbmeet <command> [options]

Commands:
  start         signalling, REST API and SFU in one process (embedded database, no other services)
  signalling    cluster role: signalling + REST API, SFU nodes found through Redis (npm run signalling)
  sfu           cluster role: an SFU media node registered in Redis (npm run sfu)
  bench         load and benchmark tool: starts a server, drives load, reports (bbmeet bench --help)
  identity-token
                mint an identity assertion for AUTH_LOGIN_MODE=strict (bbmeet identity-token --help)
  token         mint a join token for one room with grants (bbmeet token --help)
  rooms, participants <room>, mute <room> <participant> --audio|--video,
  remove-participant <room> <participant>, end-room <room>,
  update-participant <room> <participant> --metadata <json>,
  egress <room>, start-egress <room> --kind hls|recording|moq, stop-egress <room> <egress>
                control a running server with AUTH_IDENTITY_SECRET (docs/admin.md; each has --help)
  help          show this help

Options (every command):
  --env-file <path>   read variables from this file (default: .env when present)
  --port <n>          HTTP port (overrides APP_PORT)
  -h, --help          help for the command
  -v, --version       print the version

Configuration comes from environment variables; see .env.example for every one of them.`,
  start: `bbmeet start: run signalling, REST API and SFU in one process.

Uses the embedded database in DATA_DIR (default ./data) unless DATABASE_URL is a postgres:// URL.
Missing secrets (CLIENT_SECRET_KEY, AUTH_JWT_SECRET, AUTH_REFRESH_SECRET) are generated once and
kept in DATA_DIR/secrets.json. Media is announced as PUBLIC_IP, else as the address the
PUBLIC_IP_DISCOVERY STUN servers (stun:host:port, comma-separated) report at start, else as this
machine's addresses; and on IPv6 as PUBLIC_IP6, else as this machine's global or unique-local IPv6
addresses (ICE_IPV6_ENABLED=false: none). WEBHOOK_URLS: endpoints that get room events as signed JSON POSTs
(docs/webhooks.md).

Options:
  --env-file <path>   read variables from this file (default: .env when present)
  --port <n>          HTTP port (overrides APP_PORT, default 5998)
  --egress            turn egress on (experimental: live HLS, recordings, MoQ under /egress/;
                      same as EGRESS_ENABLED=true); needs \`npm run setup:egress\` first`,
  signalling: `bbmeet signalling: cluster role (signalling + REST API; SFU nodes via Redis and gRPC).

Listens on APP_PORT. Rooms are shared with the other signalling instances through Redis (socket.io
Redis adapter); each room's media goes to the SFU node hosting it (new rooms: the least-loaded node
of GROUP_ID). Needs REDIS_URL, DATABASE_URL (PostgreSQL shared by every instance) and the secrets
(CLIENT_SECRET_KEY, AUTH_JWT_SECRET, AUTH_REFRESH_SECRET) set explicitly. See docs/deployment.md.
WEBHOOK_URLS (the same on every instance): room events as signed JSON POSTs (docs/webhooks.md).

Options:
  --env-file <path>   read variables from this file (default: .env when present)
  --port <n>          HTTP port (overrides APP_PORT)`,
  sfu: `bbmeet sfu: cluster role (an SFU media node that registers in Redis and serves gRPC on SFU_PORT).

Media on UDP PORT_MIN_UDP..PORT_MAX_UDP (announced as PUBLIC_IP when set, else as the address the
PUBLIC_IP_DISCOVERY STUN servers report at start), gRPC on SFU_HOST:SFU_PORT
(dialled as SFU_ADVERTISED_HOST), a heartbeat with its load in REDIS_URL every second. SIGTERM or
SIGINT drains it: no new rooms, exit when its rooms are empty or after DRAIN_TIMEOUT_SECONDS; a
second signal exits at once. Needs REDIS_URL and the secrets set explicitly. See docs/deployment.md.

Options:
  --env-file <path>   read variables from this file (default: .env when present)
  --egress            turn egress on (experimental; same as EGRESS_ENABLED=true), served on
                      EGRESS_HTTP_PORT; needs \`npm run setup:egress\` first`,
  'identity-token': `bbmeet identity-token: mint an identity assertion for the strict login mode (for testing).

With AUTH_LOGIN_MODE=strict, POST /busapi/v3/auth logs a user in only with an identity assertion:
an HS256 JWT with claims {externalId, fullName?, exp} signed with AUTH_IDENTITY_SECRET, sent as
"Authorization: Bearer <jwt>" (with the X-API-Key header as always). Your backend mints it after it
authenticated the user; this command mints one the same way and prints it. Keep AUTH_IDENTITY_SECRET
on servers only: whoever has it can log in as anyone.

Usage: bbmeet identity-token --external-id <id> [--full-name <name>] [--ttl <seconds>]

Options:
  --external-id <id>  the user's externalId (required)
  --full-name <name>  the name a new user gets
  --ttl <seconds>     lifetime, 1-${MAX_IDENTITY_TTL_S} (default 300)
  --env-file <path>   read AUTH_IDENTITY_SECRET from this file (default: .env when present)`,
  token: TOKEN_HELP,
};

export async function main(argv: string[]): Promise<number> {
  // The bench has options of its own: it runs as its own process (bench/bench.ts, the repository's tool).
  if (argv[0] === 'bench') return runBenchCommand(argv.slice(1));
  if (argv[0] === 'identity-token') return runIdentityTokenCommand(argv.slice(1));
  if (argv[0] === 'token') return runTokenCommand(argv.slice(1));
  if (argv[0] !== undefined && Object.hasOwn(ADMIN_COMMANDS, argv[0]))
    return runAdminCommand(argv[0], argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      'env-file': { type: 'string' },
      port: { type: 'string' },
      egress: { type: 'boolean' },
    },
  });
  const command = positionals[0] ?? 'help';
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'help' || !(command in HELP)) {
    process.stdout.write(`${HELP.main}\n`);
    return command === 'help' ? 0 : 2;
  }
  if (values.help) {
    process.stdout.write(`${HELP[command]}\n`);
    return 0;
  }
  if (values.egress && command !== 'start' && command !== 'sfu') {
    process.stderr.write(`bbmeet ${command}: --egress applies to bbmeet start and bbmeet sfu only\n`);
    return 2;
  }
  let env = mergeEnvFile(process.env, values['env-file'] ?? '.env');
  if (values.port !== undefined) env = { ...env, APP_PORT: values.port };
  if (values.egress) env = { ...env, EGRESS_ENABLED: 'true' };
  if (command === 'signalling' || command === 'sfu') return runClusterRole(command, env);
  return runStart(env);
}

/** `bbmeet signalling` / `bbmeet sfu`: explicit secrets, REDIS_URL (and DATABASE_URL) required. */
async function runClusterRole(role: 'signalling' | 'sfu', env: NodeJS.ProcessEnv): Promise<number> {
  const missing = [
    ...(env.REDIS_URL?.trim() ? [] : ['REDIS_URL: required in cluster roles (not set)']),
    ...(role === 'signalling' && !env.DATABASE_URL?.trim()
      ? ['DATABASE_URL: required by bbmeet signalling (PostgreSQL shared by every instance)']
      : []),
  ];
  let config: ReturnType<typeof loadConfig> | undefined;
  try {
    config = loadConfig({ env, generateMissingSecrets: false, isTty: process.stdout.isTTY === true });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    missing.push(...err.problems);
  }
  if (!config || missing.length > 0) {
    const message = new ConfigError(missing).message;
    process.stderr.write(`bbmeet ${role}: ${message}\nSee .env.example and docs/deployment.md.\n`);
    return 1;
  }
  const logger = createLogger(config.log);
  installProcessFaultHandlers(logger);
  for (const notice of config.notices) logger.warn(notice);
  if (role === 'signalling') return runSignallingNode(config, logger);
  const egress = await egressIfEnabled(config, logger, env, role);
  return egress === null ? 1 : runSfuNode(config, logger, egress);
}

/**
 * EGRESS_ENABLED: packages/egress's createEgress (undefined when egress is off), or null once the
 * operator was told what is missing and what to run.
 */
async function egressIfEnabled(
  config: Config,
  logger: Logger,
  env: NodeJS.ProcessEnv,
  command: string,
): Promise<CreateEgress | undefined | null> {
  if (!config.egress.enabled) return undefined;
  try {
    return await loadEgress({ packageDir: config.egress.packageDir, searchPath: env.PATH ?? '' });
  } catch (err) {
    if (!(err instanceof EgressNotInstalledError)) throw err;
    logger.error({ problems: err.problems, commands: err.commands }, 'egress enabled but not installed');
    logger.flush();
    process.stderr.write(`bbmeet ${command}: ${err.message}\n`);
    return null;
  }
}

// The cluster roles load gRPC and Redis clients: only when one of them runs, not for `bbmeet start`.
async function runSignallingNode(config: Config, logger: Logger): Promise<number> {
  const { startSignallingNode } = await import('./roles/signalling-node.ts');
  prepareStartupMemoryRelease();
  const server = await startSignallingNode(config, logger);
  logger.info({ url: server.url, role: 'signalling' }, `bbmeet signalling ready on ${server.url}`);
  flushCompileCache();
  releaseStartupMemory();
  const signal = await nextSignal();
  logger.info({ signal }, 'shutting down');
  await server.close();
  logger.flush();
  return 0;
}

async function runSfuNode(config: Config, logger: Logger, egress: CreateEgress | undefined): Promise<number> {
  const { startSfuNode } = await import('./roles/sfu-node.ts');
  prepareStartupMemoryRelease();
  const node = await startSfuNode(config, logger, { egress });
  logger.info({ nodeId: node.nodeId, address: node.address, role: 'sfu' }, 'bbmeet sfu ready');
  flushCompileCache();
  releaseStartupMemory();
  const signal = await nextSignal();
  logger.info({ signal }, 'draining (send the signal again to exit at once)');
  // A second signal cuts the drain short.
  await Promise.race([node.drain(), nextSignal()]);
  await node.close();
  logger.flush();
  return 0;
}

function nextSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string) => {
      process.removeListener('SIGINT', on);
      process.removeListener('SIGTERM', on);
      resolve(signal);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

async function runStart(env: NodeJS.ProcessEnv): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ env, generateMissingSecrets: true, isTty: process.stdout.isTTY === true });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`bbmeet: ${err.message}\nSee .env.example for every variable and its format.\n`);
      return 1;
    }
    throw err;
  }
  const logger = createLogger(config.log);
  installProcessFaultHandlers(logger);
  for (const notice of config.notices) logger.warn(notice);
  const egress = await egressIfEnabled(config, logger, env, 'start');
  if (egress === null) return 1;
  const startedMs = performance.now();
  prepareStartupMemoryRelease();
  const server = await startEmbedded(config, logger, { egress });
  logger.info(
    {
      url: server.url,
      database: config.database.url ? 'postgresql' : config.database.sqlitePath,
      startupMs: Math.round(performance.now() - startedMs),
    },
    `bbmeet ready: open ${server.url}/ for a meeting (demo page), ${server.url}/docs for the API, health at ${server.url}/healthz`,
  );
  // The compile cache (bin/bbmeet.mjs) is written at exit; write it now too, for a process that is killed.
  flushCompileCache();
  releaseStartupMemory();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  logger.flush();
  return 0;
}

/** `bbmeet bench …`: runs bench/bench.ts with the same Node, passing the arguments and exit code through. */
async function runBenchCommand(args: string[]): Promise<number> {
  const { spawn } = await import('node:child_process');
  const script = new URL('../bench/bench.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' });
  // A signal to this wrapper goes to the bench, which stops what it started and exits (128 + n).
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const signal of signals) process.on(signal, forward);
  return new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1));
    }),
  );
}

/** `bbmeet identity-token`: prints an identity assertion signed with AUTH_IDENTITY_SECRET. */
function runIdentityTokenCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      'external-id': { type: 'string' },
      'full-name': { type: 'string' },
      ttl: { type: 'string', default: '300' },
      'env-file': { type: 'string' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP['identity-token']}\n`);
    return 0;
  }
  const env = mergeEnvFile(process.env, values['env-file'] ?? '.env');
  const secret = env.AUTH_IDENTITY_SECRET?.trim();
  const ttlS = Number(values.ttl);
  const problems = [
    ...(secret ? [] : ['AUTH_IDENTITY_SECRET: not set (the secret the server verifies assertions with)']),
    ...(values['external-id'] ? [] : ['--external-id: required']),
    ...(Number.isInteger(ttlS) && ttlS >= 1 && ttlS <= MAX_IDENTITY_TTL_S
      ? []
      : [`--ttl: expected whole seconds from 1 to ${MAX_IDENTITY_TTL_S}`]),
  ];
  if (problems.length > 0 || !secret || !values['external-id']) {
    process.stderr.write(`bbmeet identity-token: ${new ConfigError(problems).message}\n`);
    return 1;
  }
  const identity = { externalId: values['external-id'], fullName: values['full-name'], ttlS };
  process.stdout.write(`${mintIdentityAssertion(identity, secret)}\n`);
  return 0;
}
