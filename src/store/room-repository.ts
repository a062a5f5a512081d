import { type Db, queryOne } from './db.ts';
import { toRoom } from './rows.ts';
import { nowTimestamp } from './timestamps.ts';
import type { Room, RoomRepository } from './types.ts';

type Row = Record<string, unknown>;

export function createRoomRepository(db: Db): RoomRepository {
  const one = async (sql: string, params: unknown[]) => {
    const row = await queryOne<Row>(db, sql, params);
    return row ? toRoom(row) : undefined;
  };
  return {
    async create(input) {
      const now = nowTimestamp();
      const room = await one(
        `INSERT INTO rooms (title, password, avatar, code, type, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6, $6) RETURNING *`,
        [input.title, input.passwordHash, input.avatar, input.code, input.type, now],
      );
      return room as Room;
    },
    findById: (id) => one('SELECT * FROM rooms WHERE id = $1 AND deleted_at IS NULL', [id]),
    findByCode: (code) => one('SELECT * FROM rooms WHERE code = $1 AND deleted_at IS NULL', [code]),
    async codeExists(code) {
      return (await queryOne(db, 'SELECT 1 AS x FROM rooms WHERE code = $1', [code])) !== undefined;
    },
    update: (id, input) =>
      one(
        `UPDATE rooms SET
           title = CASE WHEN $2 = 1 THEN $3 ELSE title END,
           password = CASE WHEN $4 = 1 THEN $5 ELSE password END,
           avatar = CASE WHEN $6 = 1 THEN $7 ELSE avatar END,
           updated_at = $8
         WHERE id = $1 AND deleted_at IS NULL RETURNING *`,
        [
          id,
          input.title === undefined ? 0 : 1,
          input.title ?? null,
          input.passwordHash === undefined ? 0 : 1,
          input.passwordHash ?? null,
          input.avatar === undefined ? 0 : 1,
          input.avatar ?? null,
          nowTimestamp(),
        ],
      ),
    setStatus: (id, status) =>
      one('UPDATE rooms SET status = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL RETURNING *', [
        id,
        status,
        nowTimestamp(),
      ]),
    async listForMember(userId, status, page) {
      const rows = await db.query<Row>(
        `SELECT r.* FROM rooms r
         WHERE r.status = $2 AND r.deleted_at IS NULL
           AND EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = $1 AND m.deleted_at IS NULL)
         ORDER BY COALESCE(r.latest_message_created_at, r.created_at) DESC, r.id DESC
         LIMIT $3 OFFSET $4`,
        [userId, status, page.limit, page.skip],
      );
      return rows.map(toRoom);
    },
  };
}
