import { parseArgs } from 'node:util';
import { ConfigError, mergeEnvFile } from '../config.ts';
import {
  DEFAULT_GRANTS,
  DEFAULT_JOIN_TOKEN_TTL_S,
  type JoinGrants,
  MAX_JOIN_TOKEN_TTL_S,
  mintJoinToken,
} from '../lib/join-token.ts';

export const TOKEN_HELP = `bbmeet token: mint a join token for one room, offline (see docs/join-tokens.md).

A join token is an HS256 JWT signed with AUTH_IDENTITY_SECRET (as LiveKit's AccessToken): its holder
joins the room with this code as the user with this identity (externalId, created on first use),
with the grants below, until it expires. Your backend does the same with POST /busapi/v3/tokens.

Usage: bbmeet token --room <code> --identity <id> [--name <name>] [--ttl <seconds>] [grants]

Options:
  --room <code>          the room's code (required)
  --identity <id>        the user's externalId (required)
  --name <name>          the name a new user gets
  --ttl <seconds>        lifetime, 1-${MAX_JOIN_TOKEN_TTL_S} (default ${DEFAULT_JOIN_TOKEN_TTL_S})
  --no-publish           canPublish=false (receive-only offers)
  --no-subscribe         canSubscribe=false
  --no-publish-data      canPublishData=false
  --hidden               not announced to the other participants
  --room-admin           may change the room and remove members, as its host
  --env-file <path>      read AUTH_IDENTITY_SECRET from this file (default: .env when present)`;

/** `bbmeet token`: prints a join token signed with AUTH_IDENTITY_SECRET. */
export function runTokenCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      room: { type: 'string' },
      identity: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string', default: String(DEFAULT_JOIN_TOKEN_TTL_S) },
      'no-publish': { type: 'boolean' },
      'no-subscribe': { type: 'boolean' },
      'no-publish-data': { type: 'boolean' },
      hidden: { type: 'boolean' },
      'room-admin': { type: 'boolean' },
      'env-file': { type: 'string' },
    },
  });
  if (values.help) {
    process.stdout.write(`${TOKEN_HELP}\n`);
    return 0;
  }
  const secret = mergeEnvFile(process.env, values['env-file'] ?? '.env').AUTH_IDENTITY_SECRET?.trim();
  const ttlS = Number(values.ttl);
  const problems = [
    ...(secret ? [] : ['AUTH_IDENTITY_SECRET: not set (the secret the server verifies join tokens with)']),
    ...(values.room ? [] : ['--room: required']),
    ...(values.identity ? [] : ['--identity: required']),
    ...(Number.isInteger(ttlS) && ttlS >= 1 && ttlS <= MAX_JOIN_TOKEN_TTL_S
      ? []
      : [`--ttl: expected whole seconds from 1 to ${MAX_JOIN_TOKEN_TTL_S}`]),
  ];
  if (problems.length > 0 || !secret || !values.room || !values.identity) {
    process.stderr.write(`bbmeet token: ${new ConfigError(problems).message}\n`);
    return 1;
  }
  const grants: JoinGrants = {
    ...DEFAULT_GRANTS,
    canPublish: !values['no-publish'],
    canSubscribe: !values['no-subscribe'],
    canPublishData: !values['no-publish-data'],
    hidden: values.hidden === true,
    roomAdmin: values['room-admin'] === true,
  };
  const token = { identity: values.identity, name: values.name, room: values.room, grants, ttlS };
  process.stdout.write(`${mintJoinToken(token, secret)}\n`);
  return 0;
}
