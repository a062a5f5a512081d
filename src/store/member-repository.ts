import { type Db, queryOne } from './db.ts';
import { toMember } from './rows.ts';
import { type NowSource, nowTimestamp, timestampParam } from './timestamps.ts';
import type { MemberRepository } from './types.ts';

type Row = Record<string, unknown>;

export function createMemberRepository(db: Db, clock?: NowSource): MemberRepository {
  return {
    async add({ roomId, userId, role }) {
      const row = await queryOne<Row>(
        db,
        'INSERT INTO members (room_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) RETURNING *',
        [roomId, userId, role, nowTimestamp(clock)],
      );
      return toMember(row as Row);
    },
    async find(roomId, userId) {
      const row = await queryOne<Row>(
        db,
        'SELECT * FROM members WHERE room_id = $1 AND user_id = $2 AND deleted_at IS NULL',
        [roomId, userId],
      );
      return row ? toMember(row) : undefined;
    },
    async listByRoom(roomId) {
      const rows = await db.query<Row>(
        'SELECT * FROM members WHERE room_id = $1 AND deleted_at IS NULL ORDER BY id',
        [roomId],
      );
      return rows.map(toMember);
    },
    async remove(memberId) {
      await db.run('DELETE FROM members WHERE id = $1', [memberId]);
    },
    async setSoftDeletedAt(memberId, at) {
      await db.run('UPDATE members SET soft_deleted_at = $2 WHERE id = $1', [
        memberId,
        at === null ? null : timestampParam(at),
      ]);
    },
  };
}
