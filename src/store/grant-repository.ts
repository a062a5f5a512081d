import { type Db, queryOne } from './db.ts';
import { type NowSource, nowTimestamp } from './timestamps.ts';
import type { RoomGrantRepository } from './types.ts';

export function createRoomGrantRepository(db: Db, clock?: NowSource): RoomGrantRepository {
  return {
    async add(roomId, userId) {
      await db.run(
        `INSERT INTO room_grants (room_id, user_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (room_id, user_id) DO NOTHING`,
        [roomId, userId, nowTimestamp(clock)],
      );
    },
    async exists(roomId, userId) {
      const sql = 'SELECT 1 AS x FROM room_grants WHERE room_id = $1 AND user_id = $2';
      return (await queryOne(db, sql, [roomId, userId])) !== undefined;
    },
    async remove(roomId, userId) {
      await db.run('DELETE FROM room_grants WHERE room_id = $1 AND user_id = $2', [roomId, userId]);
    },
  };
}
