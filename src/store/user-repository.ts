import { type Db, queryOne } from './db.ts';
import { placeholders, toUser } from './rows.ts';
import { type NowSource, nowTimestamp } from './timestamps.ts';
import type { User, UserRepository } from './types.ts';

type Row = Record<string, unknown>;

/** `CASE WHEN $k = 1 THEN $k+1 ELSE column END`: a field left undefined keeps its value. */
const given = (value: unknown) => (value === undefined ? 0 : 1);

export function createUserRepository(db: Db, clock?: NowSource): UserRepository {
  const one = async (sql: string, params: unknown[]) => {
    const row = await queryOne<Row>(db, sql, params);
    return row ? toUser(row) : undefined;
  };
  return {
    findById: (id) => one('SELECT * FROM users WHERE id = $1 AND deleted_at IS NULL', [id]),
    findByExternalId: (externalId) =>
      one('SELECT * FROM users WHERE external_id = $1 AND deleted_at IS NULL', [externalId]),
    async findManyByIds(ids) {
      const unique = [...new Set(ids)];
      if (unique.length === 0) return [];
      const rows = await db.query<Row>(
        `SELECT * FROM users WHERE id IN (${placeholders(unique.length)}) ORDER BY id`,
        unique,
      );
      return rows.map(toUser);
    },
    async create({ fullName, externalId, userName }) {
      const row = await one(
        `INSERT INTO users (full_name, user_name, external_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4) RETURNING *`,
        [fullName, userName, externalId, nowTimestamp(clock)],
      );
      return row as User;
    },
    update: (id, input) =>
      one(
        `UPDATE users SET full_name = $2,
           avatar = CASE WHEN $3 = 1 THEN $4 ELSE avatar END,
           bio = CASE WHEN $5 = 1 THEN $6 ELSE bio END,
           updated_at = $7
         WHERE id = $1 AND deleted_at IS NULL RETURNING *`,
        [
          id,
          input.fullName,
          given(input.avatar),
          input.avatar ?? null,
          given(input.bio),
          input.bio ?? null,
          nowTimestamp(clock),
        ],
      ),
    async isUserNameTaken(userName) {
      const sql = 'SELECT 1 AS x FROM users WHERE user_name = $1 AND deleted_at IS NULL';
      return (await queryOne(db, sql, [userName])) !== undefined;
    },
    setUserName: (id, userName) =>
      one(
        'UPDATE users SET user_name = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL RETURNING *',
        [id, userName, nowTimestamp(clock)],
      ),
    async touchLastSeen(id) {
      const now = nowTimestamp(clock);
      await db.run('UPDATE users SET last_seen_at = $2, updated_at = $2 WHERE id = $1', [id, now]);
    },
    async revokeTokens(id) {
      const user = await one(
        'UPDATE users SET token_version = token_version + 1 WHERE id = $1 AND deleted_at IS NULL RETURNING *',
        [id],
      );
      return user?.tokenVersion;
    },
  };
}
