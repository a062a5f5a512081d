import type { Db } from './db.ts';
import { nowTimestamp } from './timestamps.ts';

interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/**
 * Schema migrations, applied in order at start and recorded in `schema_migrations`. The tables
 * are Waterbus' (same names and columns). `{{id}}` and `{{ts}}` are the only dialect differences.
 */
const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'init schema',
    statements: [
      `CREATE TABLE users (
        id {{id}},
        full_name VARCHAR(255) NULL,
        user_name VARCHAR(50) NOT NULL,
        bio TEXT NULL,
        external_id VARCHAR(100) NOT NULL,
        avatar VARCHAR(500) NULL,
        created_at {{ts}} NOT NULL,
        updated_at {{ts}} NOT NULL,
        deleted_at {{ts}} NULL,
        last_seen_at {{ts}} NULL
      )`,
      'CREATE UNIQUE INDEX users_user_name_key ON users (user_name) WHERE deleted_at IS NULL',
      'CREATE UNIQUE INDEX users_external_id_key ON users (external_id) WHERE deleted_at IS NULL',
      `CREATE TABLE rooms (
        id {{id}},
        title VARCHAR(255) NOT NULL,
        password VARCHAR(255) NULL,
        avatar VARCHAR(500) NULL,
        latest_message_created_at {{ts}} NULL,
        code VARCHAR(20) NOT NULL,
        created_at {{ts}} NOT NULL,
        updated_at {{ts}} NOT NULL,
        deleted_at {{ts}} NULL,
        latest_message_id INTEGER NULL,
        status SMALLINT NOT NULL DEFAULT 0,
        type SMALLINT NOT NULL DEFAULT 0
      )`,
      'CREATE UNIQUE INDEX rooms_code_key ON rooms (code) WHERE deleted_at IS NULL',
      'CREATE INDEX rooms_status_idx ON rooms (status)',
      `CREATE TABLE members (
        id {{id}},
        created_at {{ts}} NOT NULL,
        deleted_at {{ts}} NULL,
        soft_deleted_at {{ts}} NULL,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        role SMALLINT NOT NULL DEFAULT 1
      )`,
      'CREATE UNIQUE INDEX members_user_room_key ON members (user_id, room_id) WHERE deleted_at IS NULL',
      'CREATE INDEX members_room_idx ON members (room_id)',
      `CREATE TABLE messages (
        id {{id}},
        data TEXT NOT NULL,
        created_at {{ts}} NOT NULL,
        updated_at {{ts}} NOT NULL,
        deleted_at {{ts}} NULL,
        created_by_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        type SMALLINT NOT NULL DEFAULT 0,
        status SMALLINT NOT NULL DEFAULT 0
      )`,
      'CREATE INDEX messages_room_created_idx ON messages (room_id, created_at)',
      'CREATE INDEX messages_created_by_idx ON messages (created_by_id)',
      `CREATE TABLE participants (
        id {{id}},
        created_at {{ts}} NOT NULL,
        deleted_at {{ts}} NULL,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        node_id VARCHAR(100) NULL,
        status SMALLINT NOT NULL DEFAULT 0
      )`,
      'CREATE INDEX participants_room_idx ON participants (room_id)',
      'CREATE INDEX participants_user_idx ON participants (user_id)',
      'CREATE INDEX participants_node_idx ON participants (node_id)',
    ],
  },
  {
    version: 2,
    name: 'index members.user_id',
    // The partial unique (user_id, room_id) index cannot serve the cascade from users.
    statements: ['CREATE INDEX members_user_idx ON members (user_id)'],
  },
  {
    version: 3,
    name: 'room grants, participants.attached_at',
    statements: [
      // "This user has opened this room by its code": what lets a non-member join it.
      `CREATE TABLE room_grants (
        id {{id}},
        room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at {{ts}} NOT NULL
      )`,
      'CREATE UNIQUE INDEX room_grants_room_user_key ON room_grants (room_id, user_id)',
      'CREATE INDEX room_grants_user_idx ON room_grants (user_id)',
      // When a socket first took the participant: rows a client never connected are purged.
      'ALTER TABLE participants ADD COLUMN attached_at {{ts}} NULL',
      // Rows from before this version count as attached: the purge is for joins made from now on.
      'UPDATE participants SET attached_at = created_at',
      'CREATE INDEX participants_room_user_idx ON participants (room_id, user_id)',
    ],
  },
  {
    version: 4,
    name: 'users.token_version',
    // Access and refresh tokens carry it (claim `tv`); logging out increments it, revoking them all.
    statements: ['ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0'],
  },
  {
    version: 5,
    name: 'participants.hidden',
    // A join token's `hidden` grant (1): the row is left out of the room views others get.
    statements: ['ALTER TABLE participants ADD COLUMN hidden SMALLINT NOT NULL DEFAULT 0'],
  },
  {
    version: 16,
    name: 'participants.metadata',
    // An operator's metadata of the participant (docs/admin.md): a JSON string of at most 4 KiB.
    statements: ['ALTER TABLE participants ADD COLUMN metadata TEXT NULL'],
  },
];

const DIALECT = {
  sqlite: { id: 'INTEGER PRIMARY KEY AUTOINCREMENT', ts: 'TEXT' },
  postgres: { id: 'SERIAL PRIMARY KEY', ts: 'TIMESTAMP' },
} as const;

export const LATEST_VERSION = MIGRATIONS.at(-1)!.version;
/** Every migration's version, in order (versions need not be contiguous across branches). */
export const MIGRATION_VERSIONS: readonly number[] = MIGRATIONS.map((m) => m.version);

/** Any constant: the key of the session lock that serialises migrations between processes. */
const MIGRATION_LOCK_KEY = 724166;

/**
 * Applies the migrations not yet recorded; returns the versions applied. Each migration is one
 * transaction. On PostgreSQL `db` must be a single session (see `PostgresDb.withClient`): the
 * advisory lock makes a second process starting at the same time wait, then find nothing to do.
 */
export async function migrate(db: Db): Promise<number[]> {
  if (db.dialect === 'sqlite') return applyPending(db);
  await db.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    return await applyPending(db);
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}

async function applyPending(db: Db): Promise<number[]> {
  await db.run(
    `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at ${DIALECT[db.dialect].ts} NOT NULL)`,
  );
  const done = new Set(
    (await db.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) =>
      Number(r.version),
    ),
  );
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (!done.has(m.version) && (await applyOne(db, m))) applied.push(m.version);
  }
  return applied;
}

/** False when another process applied it meanwhile (SQLite files have no advisory lock). */
function applyOne(db: Db, m: Migration): Promise<boolean> {
  return db.transaction(async (tx) => {
    const recorded = await tx.query('SELECT 1 AS x FROM schema_migrations WHERE version = $1', [m.version]);
    if (recorded.length > 0) return false;
    for (const statement of m.statements) await tx.run(render(statement, db.dialect));
    await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
      m.version,
      m.name,
      nowTimestamp(),
    ]);
    return true;
  });
}

function render(statement: string, dialect: Db['dialect']): string {
  return statement.replaceAll('{{id}}', DIALECT[dialect].id).replaceAll('{{ts}}', DIALECT[dialect].ts);
}
