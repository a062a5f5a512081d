import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { optionalString, positiveInt } from './env-types.ts';

/** The variables of authentication: the API key, token secrets and lifetimes, the login mode. */
export const authEnv = {
  CLIENT_SECRET_KEY: optionalString,
  AUTH_JWT_SECRET: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'expected at least 16 characters',
  }),
  AUTH_REFRESH_SECRET: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'expected at least 16 characters',
  }),
  AUTH_JWT_TOKEN_EXPIRES_IN: positiveInt.default(86_400),
  AUTH_REFRESH_TOKEN_EXPIRES_IN: positiveInt.default(31_536_000),
  AUTH_LOGIN_MODE: z.enum(['open', 'strict']).default('open'),
  AUTH_IDENTITY_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, {
    message: 'expected at least 32 characters',
  }),
};

export type AuthEnv = z.infer<z.ZodObject<typeof authEnv>>;

export interface Secrets {
  apiKey: string;
  jwtSecret: string;
  refreshSecret: string;
}

export interface AuthConfig {
  apiKey: string;
  jwtSecret: string;
  refreshSecret: string;
  accessTokenTtlS: number;
  refreshTokenTtlS: number;
  /** `open`: POST /auth trusts the externalId (Waterbus); `strict`: it needs an identity assertion. */
  loginMode: 'open' | 'strict';
  /** Signs identity assertions (strict mode); never shipped in a client. */
  identitySecret: string | undefined;
}

export function authSection(e: AuthEnv, secrets: Secrets): AuthConfig {
  return {
    ...secrets,
    accessTokenTtlS: e.AUTH_JWT_TOKEN_EXPIRES_IN,
    refreshTokenTtlS: e.AUTH_REFRESH_TOKEN_EXPIRES_IN,
    apiKey: secrets.apiKey,
    loginMode: e.AUTH_LOGIN_MODE,
    identitySecret: e.AUTH_IDENTITY_SECRET,
  };
}

const SECRET_NAMES = {
  apiKey: 'CLIENT_SECRET_KEY',
  jwtSecret: 'AUTH_JWT_SECRET',
  refreshSecret: 'AUTH_REFRESH_SECRET',
} as const;

/**
 * Secrets from the environment; in embedded mode, missing ones are generated once and kept in
 * `<DATA_DIR>/secrets.json` (mode 0600) so that tokens survive restarts.
 */
export function resolveSecrets(e: AuthEnv, dataDir: string, generate: boolean, notices: string[]): Secrets {
  const given: Partial<Secrets> = {
    apiKey: e.CLIENT_SECRET_KEY,
    jwtSecret: e.AUTH_JWT_SECRET,
    refreshSecret: e.AUTH_REFRESH_SECRET,
  };
  const missing = (Object.keys(SECRET_NAMES) as Array<keyof Secrets>).filter((k) => given[k] === undefined);
  if (missing.length === 0) return given as Secrets;
  if (!generate) {
    throw new ConfigError(missing.map((k) => `${SECRET_NAMES[k]}: required in cluster roles (not set)`));
  }
  const file = path.join(dataDir, 'secrets.json');
  const stored = readStoredSecrets(file);
  const result = { ...given } as Secrets;
  let changed = false;
  for (const key of missing) {
    const existing = stored[key];
    if (existing) {
      result[key] = existing;
    } else {
      result[key] = randomBytes(key === 'apiKey' ? 18 : 32).toString('base64url');
      stored[key] = result[key];
      changed = true;
    }
    notices.push(`${SECRET_NAMES[key]} is not set: using the generated value kept in ${file}`);
  }
  if (changed) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  return result;
}

function readStoredSecrets(file: string): Partial<Secrets> {
  if (!existsSync(file)) return {};
  const parsed = z
    .object({
      apiKey: z.string().optional(),
      jwtSecret: z.string().optional(),
      refreshSecret: z.string().optional(),
    })
    .safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new ConfigError([`${file}: not a valid secrets file; fix or delete it`]);
  return parsed.data;
}
