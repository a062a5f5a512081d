import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, mergeEnvFile } from './config.ts';
import { createLogger } from './lib/logger.ts';
import { startEmbedded } from './roles/embedded.ts';

const VERSION = '0.1.0';

const HELP: Record<string, string> = {
  main: `bbmeet ${VERSION}: self-hosted video-conferencing server (Waterbus-compatible)

Usage: bbmeet <command> [options]

Commands:
  start         signalling, REST API and SFU in one process (embedded database, no other services)
  signalling    cluster role: signalling + REST API, SFU nodes found through Redis
  sfu           cluster role: an SFU media node registered in Redis
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
kept in DATA_DIR/secrets.json.

Options:
  --env-file <path>   read variables from this file (default: .env when present)
  --port <n>          HTTP port (overrides APP_PORT, default 5998)`,
  signalling: `bbmeet signalling: cluster role (signalling + REST API; SFU nodes via Redis and gRPC).

Needs REDIS_URL, DATABASE_URL and the secrets set explicitly.`,
  sfu: `bbmeet sfu: cluster role (an SFU media node that registers in Redis and serves gRPC on SFU_PORT).

Needs REDIS_URL and the secrets set explicitly.`,
};

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      'env-file': { type: 'string' },
      port: { type: 'string' },
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
  if (command === 'signalling' || command === 'sfu') {
    process.stderr.write(
      `bbmeet ${command}: the cluster roles are not available yet in this version; run 'bbmeet start' for a single-process server.\n`,
    );
    return 3;
  }
  let env = mergeEnvFile(process.env, values['env-file'] ?? '.env');
  if (values.port !== undefined) env = { ...env, APP_PORT: values.port };
  return runStart(env);
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
  for (const notice of config.notices) logger.warn(notice);
  const startedMs = performance.now();
  const server = await startEmbedded(config, logger);
  logger.info(
    {
      url: server.url,
      database: config.database.url ? 'postgresql' : config.database.sqlitePath,
      startupMs: Math.round(performance.now() - startedMs),
    },
    `bbmeet ready: open ${server.url}/ for a meeting (demo page), ${server.url}/docs for the API, health at ${server.url}/healthz`,
  );
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
