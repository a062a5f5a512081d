import { type Db, queryOne } from './db.ts';
import { toRoom } from './rows.ts';
import { type NowSource, nowTimestamp } from './timestamps.ts';
import { type Room, type RoomRepository, RoomStatus } from './types.ts';

type Row = Record<string, unknown>;

/** `CASE WHEN $k = 1 THEN $k+1 ELSE column END`: a field left undefined keeps its value. */
const given = (value: unknown) => (value === undefined ? 0 : 1);

export function createRoomRepository(db: Db, clock?: NowSource): RoomRepository {
  const one = async (sql: string, params: unknown[]) => {
    const row = await queryOne<Row>(db, sql, params);
    return row ? toRoom(row) : undefined;
  };
  return {
    async create(input) {
      const room = await one(
        `INSERT INTO rooms (title, password, avatar, code, type, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING *`,
        [
          input.title,
          // An empty hash would read as "has a password" elsewhere; the original stored "" here.
          input.passwordHash || null,
          input.avatar,
          input.code,
          input.type,
          RoomStatus.Active,
          nowTimestamp(clock),
        ],
      );
      return room as Room;
    },
    findById: (id) => one('SELECT * FROM rooms WHERE id = $1 AND deleted_at IS NULL', [id]),
    findByCode: (code) => one('SELECT * FROM rooms WHERE code = $1 AND deleted_at IS NULL', [code]),
    async codeExists(code) {
      // Deleted rooms count too, so an old link never opens a different room.
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
          given(input.title),
          input.title ?? null,
          given(input.passwordHash),
          input.passwordHash || null,
          given(input.avatar),
          input.avatar ?? null,
          nowTimestamp(clock),
        ],
      ),
    setStatus: (id, status) =>
      one('UPDATE rooms SET status = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL RETURNING *', [
        id,
        status,
        nowTimestamp(clock),
      ]),
    async listForMember(userId, status, page) {
      // EXISTS rather than a join: a room is listed once, and rooms with equal times all stay.
      const rows = await db.query<Row>(
        `SELECT r.* FROM rooms r
         WHERE r.status = $2 AND r.deleted_at IS NULL
           AND EXISTS (SELECT 1 FROM members m
                       WHERE m.room_id = r.id AND m.user_id = $1 AND m.deleted_at IS NULL)
         ORDER BY COALESCE(r.latest_message_created_at, r.created_at) DESC, r.id DESC
         LIMIT $3 OFFSET $4`,
        [userId, status, page.limit, page.skip],
      );
      return rows.map(toRoom);
    },
  };
}
